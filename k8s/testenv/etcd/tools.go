//go:build tools

// Package tools pins the program this module builds (the etcd server's main package); the build
// tag keeps it out of every real build, while go mod tidy still records its dependencies.
package tools

import _ "go.etcd.io/etcd/server/v3"
