/**
 * The runtime API of design.md §4 as typed fabric8 custom resources: {@link
 * io.agentcube.runtime.api.AgentRuntime}, {@link io.agentcube.runtime.api.CodeInterpreter}, {@link
 * io.agentcube.runtime.api.AgentEndpoint} and {@link io.agentcube.runtime.api.CodeInterpreterEndpoint}
 * in group {@value io.agentcube.runtime.api.RuntimeApi#GROUP}, version {@value
 * io.agentcube.runtime.api.RuntimeApi#VERSION}.
 *
 * <p>These classes are the wire shape and nothing more: plain mutable beans that Jackson reads and
 * writes and that fabric8's CRD generator turns into {@code k8s/crds/*.yaml} at build time (the
 * schema annotations here — {@code @Required}, {@code @Min}, {@code @Pattern}, {@code @Default},
 * printer columns, short names — are the CRD's OpenAPI validation). A field left out of a
 * document stays {@code null}, so a document reads and writes back unchanged; the defaults of
 * design.md §4 are the {@code DEFAULT_*} constants, which the API server applies through the CRD
 * and {@link io.agentcube.runtime.RuntimeParser#toDefinition} applies when it normalises.
 *
 * <p>What a definition means (validation, defaults, the template hash) lives outside this package,
 * in {@link io.agentcube.runtime.RuntimeValidation} and {@link io.agentcube.runtime.RuntimeParser},
 * so that files and informer objects go through the same code.
 */
package io.agentcube.runtime.api;
