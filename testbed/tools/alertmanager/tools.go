//go:build tools

// Package tools keeps amtool's dependencies in go.sum.
package tools

import _ "github.com/prometheus/alertmanager/cmd/amtool"
