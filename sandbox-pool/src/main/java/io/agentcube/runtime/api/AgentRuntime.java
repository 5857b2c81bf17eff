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
 * An agent runtime: sandboxes made from a pod template, one per session, started on the first
 * invocation (or taken from a warm pool).
 */
@Group(RuntimeApi.GROUP)
@Version(RuntimeApi.VERSION)
@Kind("AgentRuntime")
@Plural("agentruntimes")
@Singular("agentruntime")
@ShortNames("ar")
// kubectl get shows these after NAME in the order of their jsonPath (fabric8's generator sorts
// them), so AGE comes first: AGE SESSIONS DEFAULT READY DESIRED WARM.
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.ready", type = Type.BOOLEAN,
    getDescription = "Whether new sessions can be served.")
@AdditionalPrinterColumn(name = "Default", jsonPath = ".status.defaultVersion", type = Type.STRING,
    getDescription = "The version new sessions get.")
@AdditionalPrinterColumn(name = "Warm", jsonPath = ".status.warmPool.ready", type = Type.INTEGER,
    getDescription = "Warm sandboxes ready and unclaimed.")
@AdditionalPrinterColumn(name = "Desired", jsonPath = ".status.warmPool.desired", type = Type.INTEGER,
    getDescription = "Warm sandboxes wanted.")
@AdditionalPrinterColumn(name = "Sessions", jsonPath = ".status.activeSessions", type = Type.INTEGER,
    getDescription = "Sessions currently open.")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class AgentRuntime extends CustomResource<AgentRuntimeSpec, RuntimeStatus> implements Namespaced {
}
