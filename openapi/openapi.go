// Package openapi embeds the API description served at /openapi.yaml.
package openapi

import _ "embed"

// Spec is openapi.yaml.
//
//go:embed openapi.yaml
var Spec []byte
