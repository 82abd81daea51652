// Package ecs_test checks every file in deploy/ecs against AWS's own
// published API models (botocore's data/<service>/<version>/service-2.json),
// as the input of the API call the file's name says it is for.
package ecs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/awsmodel"
)

func TestEveryFileIsAValidAPIInput(t *testing.T) {
	ms := models(t)
	t.Logf("AWS API models from %s", modelsDir)
	for _, f := range files(t) {
		t.Run(f.name, func(t *testing.T) {
			// Placeholders live inside JSON strings only: the file as
			// committed is already valid JSON, so numbers stay numbers.
			_, err := awsmodel.Decode(f.raw)
			require.NoError(t, err, "the file as committed (before envsubst) must be valid JSON")

			m := ms[f.kind.service]
			errs := m.Validate(f.kind.operation, f.doc)
			assert.Equal(t, 0, len(errs), "got %d findings against %s %s (%s), want none:\n%s",
				len(errs), f.kind.service, f.kind.operation, m.APIVersion, joinErrs(errs))
		})
	}
}

func TestEveryFileInTheDirectoryIsChecked(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			t.Errorf("unexpected directory deploy/ecs/%s: the checks only read this directory", name)
		case strings.HasSuffix(name, "_test.go"), name == "render.sh":
		case strings.HasSuffix(name, ".json"):
			_, ok := kindOf(name)
			assert.True(t, ok, "deploy/ecs/%s: name it *%s so it is validated", name, suffixes())
		default:
			t.Errorf("deploy/ecs/%s: not a deploy input, a test or render.sh; nothing checks it", name)
		}
	}
}

func TestPlaceholdersAreTheOnesThePipelineProvides(t *testing.T) {
	used := map[string]bool{}
	for _, f := range files(t) {
		for _, p := range placeholders(f.raw) {
			used[p] = true
			_, ok := sampleEnv[p]
			assert.True(t, ok, "%s uses ${%s}, which is not a known placeholder", f.name, p)
		}
	}
	for p := range sampleEnv {
		assert.True(t, used[p], "placeholder ${%s} is provided but no file uses it", p)
	}
}

// A valid task definition, broken one way at a time: the validator must
// reject each, which proves it checks what it claims to.
func TestValidatorRejectsBrokenTaskDefinitions(t *testing.T) {
	ecs := models(t)["ecs"]
	base := func() map[string]any {
		return map[string]any{
			"family":                  "couponpop-api",
			"networkMode":             "awsvpc",
			"requiresCompatibilities": []any{"FARGATE"},
			"cpu":                     "256",
			"memory":                  "512",
			"containerDefinitions": []any{map[string]any{
				"name":         "api",
				"image":        "example/api:1",
				"essential":    true,
				"portMappings": []any{map[string]any{"containerPort": json.Number("8080"), "protocol": "tcp"}},
				"environment":  []any{map[string]any{"name": "HTTP_ADDR", "value": ":8080"}},
			}},
		}
	}
	container := func(td map[string]any) map[string]any {
		return td["containerDefinitions"].([]any)[0].(map[string]any)
	}
	require.Empty(t, ecs.Validate("RegisterTaskDefinition", base()), "the unbroken task definition must pass")

	tests := []struct {
		name     string
		breakIt  func(td map[string]any)
		wantPath string
		wantMsg  string
	}{
		{"unknown top-level member", func(td map[string]any) { td["familly"] = "x" }, "familly", "unknown member"},
		{"unknown nested member", func(td map[string]any) {
			container(td)["portMappings"].([]any)[0].(map[string]any)["containerPortt"] = json.Number("1")
		}, "containerDefinitions[0].portMappings[0].containerPortt", "unknown member"},
		{"mis-cased member", func(td map[string]any) { td["NetworkMode"] = td["networkMode"] }, "NetworkMode", `did you mean "networkMode"`},
		{"bad networkMode", func(td map[string]any) { td["networkMode"] = "bogus" }, "networkMode", `"bogus" is not one of NetworkMode`},
		{"bad compatibility", func(td map[string]any) { td["requiresCompatibilities"] = []any{"LAMBDA"} }, "requiresCompatibilities[0]", "is not one of"},
		{"bad protocol", func(td map[string]any) {
			container(td)["portMappings"].([]any)[0].(map[string]any)["protocol"] = "http"
		}, "containerDefinitions[0].portMappings[0].protocol", "is not one of"},
		{"missing family", func(td map[string]any) { delete(td, "family") }, "family", "required member"},
		{"missing containerDefinitions", func(td map[string]any) { delete(td, "containerDefinitions") }, "containerDefinitions", "required member"},
		{"cpu as a number", func(td map[string]any) { td["cpu"] = json.Number("256") }, "cpu", "want string"},
		{"containerPort as a string", func(td map[string]any) {
			container(td)["portMappings"].([]any)[0].(map[string]any)["containerPort"] = "8080"
		}, "containerDefinitions[0].portMappings[0].containerPort", "want integer"},
		{"essential as a string", func(td map[string]any) { container(td)["essential"] = "yes" }, "containerDefinitions[0].essential", "want boolean"},
		{"containerDefinitions as an object", func(td map[string]any) {
			td["containerDefinitions"] = container(td)
		}, "containerDefinitions", "want array"},
		{"environment as a map", func(td map[string]any) {
			container(td)["environment"] = map[string]any{"HTTP_ADDR": ":8080"}
		}, "containerDefinitions[0].environment", "want array"},
		{"secret without valueFrom", func(td map[string]any) {
			container(td)["secrets"] = []any{map[string]any{"name": "JWT_SECRET"}}
		}, "containerDefinitions[0].secrets[0].valueFrom", "required member"},
		{"null value", func(td map[string]any) { td["taskRoleArn"] = nil }, "taskRoleArn", "null"},
		{"tag key too long", func(td map[string]any) {
			td["tags"] = []any{map[string]any{"key": strings.Repeat("k", 129), "value": "v"}}
		}, "tags[0].key", "above maximum"},
		{"tag key off pattern", func(td map[string]any) {
			td["tags"] = []any{map[string]any{"key": "no*stars", "value": "v"}}
		}, "tags[0].key", "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := base()
			tt.breakIt(td)
			errs := ecs.Validate("RegisterTaskDefinition", td)
			require.NotEmpty(t, errs, "got no findings, want %q at %q", tt.wantMsg, tt.wantPath)
			found := false
			for _, e := range errs {
				if e.Path == tt.wantPath && strings.Contains(e.Msg, tt.wantMsg) {
					found = true
				}
			}
			assert.True(t, found, "got:\n%s\nwant %q at %q", joinErrs(errs), tt.wantMsg, tt.wantPath)
		})
	}
}

// The other models are walked the same way; one broken input for each
// guards against a file being validated against the wrong operation.
func TestValidatorRejectsBrokenInputsOfOtherAPIs(t *testing.T) {
	ms := models(t)
	tests := []struct {
		name, service, operation, doc, wantPath, wantMsg string
	}{
		{"service without circuit-breaker rollback flag", "ecs", "CreateService",
			`{"serviceName":"s","deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true}}}`,
			"deploymentConfiguration.deploymentCircuitBreaker.rollback", "required member"},
		{"service with EC2-style launch type typo", "ecs", "CreateService",
			`{"serviceName":"s","launchType":"FARGATE_SPOT"}`, "launchType", "is not one of"},
		{"target group with string port", "elbv2", "CreateTargetGroup",
			`{"Name":"tg","Port":"8080"}`, "Port", "want integer"},
		{"target group with lower-case member", "elbv2", "CreateTargetGroup",
			`{"Name":"tg","healthCheckPath":"/readyz"}`, "healthCheckPath", "unknown member"},
		{"scaling policy with unknown metric", "application-autoscaling", "PutScalingPolicy",
			`{"PolicyName":"p","ServiceNamespace":"ecs","ResourceId":"service/c/s","ScalableDimension":"ecs:service:DesiredCount",
			  "TargetTrackingScalingPolicyConfiguration":{"TargetValue":60,"PredefinedMetricSpecification":{"PredefinedMetricType":"CPU"}}}`,
			"TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType", "is not one of"},
		{"scalable target without capacity type", "application-autoscaling", "RegisterScalableTarget",
			`{"ServiceNamespace":"ecs","ResourceId":"service/c/s","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":"1"}`,
			"MinCapacity", "want integer"},
		{"rule with bad name", "events", "PutRule", `{"Name":"has space"}`, "Name", "pattern"},
		{"targets without Id", "events", "PutTargets",
			`{"Rule":"r","Targets":[{"Arn":"arn:aws:ecs:ap-northeast-2:123456789012:cluster/c"}]}`, "Targets[0].Id", "required member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := awsmodel.Decode([]byte(tt.doc))
			require.NoError(t, err)
			errs := ms[tt.service].Validate(tt.operation, doc)
			found := false
			for _, e := range errs {
				if e.Path == tt.wantPath && strings.Contains(e.Msg, tt.wantMsg) {
					found = true
				}
			}
			assert.True(t, found, "got:\n%s\nwant %q at %q", joinErrs(errs), tt.wantMsg, tt.wantPath)
		})
	}
}

func joinErrs(errs []awsmodel.Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}
