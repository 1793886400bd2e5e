//go:build tools

// Package tools keeps kwok's dependencies in go.sum.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
