#!/usr/bin/env bash
# Regenerates the committed CRDs in this directory from the typed model
# (sandbox-pool/src/main/java/io/agentcube/runtime/api). The build generates them into
# sandbox-pool/target/crds and CrdDriftTest fails while these copies differ; this runs that test
# in its writing mode. Review the diff and commit it with the model change.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -pl sandbox-pool -am test -Dtest=CrdDriftTest -Dsurefire.failIfNoSpecifiedTests=false -Dcrd.update=true
git status --short -- k8s/crds
