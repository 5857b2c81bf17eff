package io.agentcube.testenv;

import static io.agentcube.testenv.Models.orEmpty;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributes;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributesBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waits until RBAC bindings just written are enforced. The API server's RBAC authorizer reads
 * roles and bindings from an informer cache, so for a short while after a write a request can
 * still be refused; a SubjectAccessReview goes through the same authorizer.
 */
final class RbacWaiter {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(50);

  private final KubernetesClient admin;

  RbacWaiter(KubernetesClient admin) {
    this.admin = admin;
  }

  /**
   * For each RoleBinding and ClusterRoleBinding in {@code applied}: waits until every subject is
   * allowed the first resource rule of the bound role (a role without resource rules, or one not
   * found, is not checked).
   *
   * @throws IllegalStateException when a binding is not in effect within 30 s
   */
  void awaitEffective(List<HasMetadata> applied) {
    for (HasMetadata item : applied) {
      if (item instanceof RoleBinding rb) {
        String ns = rb.getMetadata().getNamespace();
        firstResourceRule(rb.getRoleRef(), ns).ifPresent(rule ->
            orEmpty(rb.getSubjects()).forEach(s -> awaitAllowed(describe(item), s, rule, ns)));
      } else if (item instanceof ClusterRoleBinding crb) {
        firstResourceRule(crb.getRoleRef(), null).ifPresent(rule ->
            orEmpty(crb.getSubjects()).forEach(s -> awaitAllowed(describe(item), s, rule, null)));
      }
    }
  }

  private Optional<PolicyRule> firstResourceRule(RoleRef ref, String namespace) {
    List<PolicyRule> rules;
    if ("Role".equals(ref.getKind())) {
      Role role = admin.rbac().roles().inNamespace(namespace).withName(ref.getName()).get();
      rules = role == null ? List.of() : orEmpty(role.getRules());
    } else {
      ClusterRole role = admin.rbac().clusterRoles().withName(ref.getName()).get();
      rules = role == null ? List.of() : orEmpty(role.getRules());
    }
    return rules.stream()
        .filter(r -> !orEmpty(r.getResources()).isEmpty() && !orEmpty(r.getVerbs()).isEmpty())
        .findFirst();
  }

  private void awaitAllowed(String binding, Subject subject, PolicyRule rule, String namespace) {
    String resource = rule.getResources().get(0);
    String subresource = null;
    int slash = resource.indexOf('/');
    if (slash > 0) {
      subresource = resource.substring(slash + 1);
      resource = resource.substring(0, slash);
    }
    ResourceAttributes attributes = new ResourceAttributesBuilder()
        .withNamespace(namespace)
        .withVerb(rule.getVerbs().get(0))
        .withGroup(orEmpty(rule.getApiGroups()).isEmpty() ? "" : rule.getApiGroups().get(0))
        .withResource(resource)
        .withSubresource(subresource)
        .withName(orEmpty(rule.getResourceNames()).isEmpty() ? null : rule.getResourceNames().get(0))
        .build();
    SubjectAccessReviewBuilder review = new SubjectAccessReviewBuilder()
        .withNewSpec().withResourceAttributes(attributes).endSpec();
    switch (subject.getKind()) {
      case "User" -> review.editSpec().withUser(subject.getName()).endSpec();
      case "Group" -> review.editSpec().withGroups(subject.getName()).endSpec();
      case "ServiceAccount" -> {
        String ns = subject.getNamespace() != null ? subject.getNamespace() : namespace;
        review.editSpec()
            .withUser("system:serviceaccount:" + ns + ":" + subject.getName())
            .withGroups("system:serviceaccounts", "system:serviceaccounts:" + ns)
            .endSpec();
      }
      default -> throw new IllegalArgumentException(
          binding + ": subject kind " + subject.getKind() + " is not User, Group or ServiceAccount");
    }
    SubjectAccessReview request = review.build();
    try {
      await("RBAC " + binding + " in effect for " + subject.getKind() + " " + subject.getName())
          .atMost(TIMEOUT)
          .pollInterval(POLL)
          .pollInSameThread()
          .until(() -> {
            SubjectAccessReview answer = admin.authorization().v1().subjectAccessReview().create(request);
            return answer.getStatus() != null && Boolean.TRUE.equals(answer.getStatus().getAllowed());
          });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(binding + " not enforced within " + TIMEOUT + " for "
          + subject.getKind() + " " + subject.getName() + " (" + attributes + ")", e);
    }
  }

  private static String describe(HasMetadata item) {
    String ns = item.getMetadata().getNamespace();
    return item.getKind() + " " + (ns == null ? "" : ns + "/") + item.getMetadata().getName();
  }
}
