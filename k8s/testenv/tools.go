//go:build tools

// Package tools pins the programs this module builds; the build tag keeps it out of every real
// build (a main package cannot be imported), while go mod tidy still records its dependencies.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
