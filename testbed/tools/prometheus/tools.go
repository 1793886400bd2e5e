//go:build tools

// Package tools keeps promtool's dependencies in go.sum.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
