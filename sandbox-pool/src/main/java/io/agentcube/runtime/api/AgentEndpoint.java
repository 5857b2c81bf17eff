package io.agentcube.runtime.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A name for an {@link AgentRuntime}, optionally pinned to one of its versions; requests choose it
 * with {@code ?endpoint=<name>}.
 */
@Group(RuntimeApi.GROUP)
@Version(RuntimeApi.VERSION)
@Kind("AgentEndpoint")
@Plural("agentendpoints")
@Singular("agentendpoint")
@ShortNames("aep")
// kubectl get shows these after NAME in the order of their jsonPath (fabric8's generator sorts
// them): AGE TARGET VERSION READY RESOLVED.
@AdditionalPrinterColumn(name = "Target", jsonPath = ".spec.target", type = Type.STRING,
    getDescription = "The runtime this endpoint names.")
@AdditionalPrinterColumn(name = "Version", jsonPath = ".spec.version", type = Type.STRING,
    getDescription = "The pinned version; empty follows the runtime's default.")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
    type = Type.STRING, getDescription = "The Ready condition: the target and its version exist.")
@AdditionalPrinterColumn(name = "Resolved", jsonPath = ".status.resolvedVersion", type = Type.STRING,
    getDescription = "The version requests through this endpoint get.")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class AgentEndpoint extends CustomResource<EndpointSpec, EndpointStatus> implements Namespaced {
}
