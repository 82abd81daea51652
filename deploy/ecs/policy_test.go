package ecs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/awsmodel"
	"github.com/couponpop/couponpop/deploy/internal/toolchain"
	"github.com/couponpop/couponpop/internal/config"
)

// The deployables: one main under cmd/ each, one binary each in the image.
var deployables = []string{"api", "worker", "indexer", "batch", "migrate"}

// Long-running ones get an ECS service; batch runs on a schedule, migrate once per deploy.
var services = []string{"api", "worker", "indexer"}

type kv struct{ Name, Value string }

type secretRef struct{ Name, ValueFrom string }

type containerDef struct {
	Name             string
	Image            string
	Essential        *bool
	EntryPoint       []string
	Command          []string
	Environment      []kv
	Secrets          []secretRef
	PortMappings     []struct{ ContainerPort int }
	HealthCheck      *struct{ Command []string }
	LogConfiguration *struct {
		LogDriver string
		Options   map[string]string
	}
}

type taskDef struct {
	Family                  string
	NetworkMode             string
	RequiresCompatibilities []string
	CPU                     string
	Memory                  string
	ExecutionRoleArn        string
	ContainerDefinitions    []containerDef
}

func (td taskDef) container(name string) (containerDef, bool) {
	for _, c := range td.ContainerDefinitions {
		if c.Name == name {
			return c, true
		}
	}
	return containerDef{}, false
}

func loadTaskDef(t *testing.T, all []file, name string) taskDef {
	t.Helper()
	var td taskDef
	plain(t, fileNamed(t, all, name+".taskdef.json").doc, &td)
	return td
}

// fargateMemory lists the memory sizes (MiB) Fargate accepts for each CPU size.
func fargateMemory(cpu int) []int {
	span := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

func TestTaskDefinitions(t *testing.T) {
	all := files(t)
	known := map[string]config.Var{}
	for _, v := range config.Vars() {
		known[v.Name] = v
	}
	arnRE := regexp.MustCompile(`^arn:aws:(ssm:[a-z0-9-]+:\d{12}:parameter/|secretsmanager:[a-z0-9-]+:\d{12}:secret:)\S+$`)

	for _, name := range deployables {
		t.Run(name, func(t *testing.T) {
			td := loadTaskDef(t, all, name)
			assert.Equal(t, "couponpop-"+name, td.Family, "family")
			assert.Equal(t, "awsvpc", td.NetworkMode, "networkMode")
			assert.Equal(t, []string{"FARGATE"}, td.RequiresCompatibilities, "requiresCompatibilities")
			assert.NotEmpty(t, td.ExecutionRoleArn, "executionRoleArn: needed to pull from ECR, read secrets and write logs")
			cpu, err := strconv.Atoi(td.CPU)
			require.NoError(t, err, "cpu %q", td.CPU)
			mem, err := strconv.Atoi(td.Memory)
			require.NoError(t, err, "memory %q", td.Memory)
			assert.Contains(t, fargateMemory(cpu), mem, "got cpu %d with memory %d, not a Fargate size", cpu, mem)

			app, ok := td.container(name)
			require.True(t, ok, "no container named %q", name)
			assert.Equal(t, "${IMAGE}", containerImage(t, all, name), "the app container runs the pipeline's image")
			assert.Equal(t, []string{"/usr/local/bin/" + name}, app.EntryPoint, "entryPoint: the image holds every deployable under /usr/local/bin")
			require.NotNil(t, app.Essential)
			assert.True(t, *app.Essential, "the app container is essential")

			for _, c := range td.ContainerDefinitions {
				require.NotNil(t, c.LogConfiguration, "%s: logConfiguration", c.Name)
				assert.Equal(t, "awslogs", c.LogConfiguration.LogDriver, "%s: log driver", c.Name)
				for _, opt := range []string{"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} {
					assert.NotEmpty(t, c.LogConfiguration.Options[opt], "%s: log option %s", c.Name, opt)
				}
				// The image is distroless: no shell for a CMD-SHELL check.
				if c.HealthCheck != nil && c.Image == "${IMAGE}" {
					assert.NotEqual(t, "CMD-SHELL", first(c.HealthCheck.Command), "%s: the image has no shell", c.Name)
				}
				for _, s := range c.Secrets {
					assert.Regexp(t, arnRE, s.ValueFrom, "%s: secret %s comes from SSM Parameter Store or Secrets Manager", c.Name, s.Name)
				}
				assert.Empty(t, secretsInEnvironment(c.Environment), "%s: secrets in plain environment", c.Name)
				names := map[string]bool{}
				for _, n := range varNames(c) {
					assert.False(t, names[n], "%s: %s set twice", c.Name, n)
					names[n] = true
				}
			}
			// Every variable the app container gets is one the code reads,
			// and every secret the code knows comes through `secrets`.
			for _, e := range app.Environment {
				v, ok := known[e.Name]
				if assert.True(t, ok, "environment %s is not a variable internal/config reads", e.Name) && v.Secret {
					assert.True(t, isFileRef(e), "%s is secret in internal/config: give it through secrets", e.Name)
				}
			}
			for _, s := range app.Secrets {
				_, ok := known[s.Name]
				assert.True(t, ok, "secret %s is not a variable internal/config reads", s.Name)
			}
		})
	}
}

func containerImage(t *testing.T, all []file, name string) string {
	t.Helper()
	raw := fileNamed(t, all, name+".taskdef.json").raw
	var td taskDef
	require.NoError(t, json.Unmarshal(raw, &td))
	c, _ := td.container(name)
	return c.Image
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func varNames(c containerDef) []string {
	var out []string
	for _, e := range c.Environment {
		out = append(out, e.Name)
	}
	for _, s := range c.Secrets {
		out = append(out, s.Name)
	}
	return out
}

var secretName = regexp.MustCompile(`SECRET|PASSWORD|PASSWD|TOKEN|DATABASE_URL|RABBITMQ_URL|CREDENTIAL|PRIVATE_KEY|API_KEY`)
var credentialsInURL = regexp.MustCompile(`://[^/@\s:]+:[^/@\s]+@`)

// isFileRef: a *_FILE variable holding an absolute path names where a secret
// was put (FCM_CREDENTIALS_FILE), it is not the secret itself.
func isFileRef(e kv) bool {
	return strings.HasSuffix(e.Name, "_FILE") && strings.HasPrefix(e.Value, "/")
}

// secretsInEnvironment returns the environment entries that carry a secret:
// by name, or by a password inside a URL.
func secretsInEnvironment(env []kv) []string {
	var bad []string
	for _, e := range env {
		if secretName.MatchString(strings.ToUpper(e.Name)) && !isFileRef(e) {
			bad = append(bad, e.Name)
		} else if credentialsInURL.MatchString(e.Value) {
			bad = append(bad, e.Name+" (password in URL)")
		}
	}
	return bad
}

func TestSecretsInEnvironmentAreCaught(t *testing.T) {
	tests := []struct {
		env  kv
		want bool
	}{
		{kv{"JWT_SECRET", "s3cret"}, true},
		{kv{"JWT_SECRET_PREVIOUS", "old"}, true},
		{kv{"DATABASE_URL", "postgres://db/couponpop"}, true},
		{kv{"RABBITMQ_URL", "amqps://mq:5671/"}, true},
		{kv{"REDIS_PASSWORD", "p"}, true},
		{kv{"FCM_CREDENTIALS_JSON", "{}"}, true},
		{kv{"FCM_CREDENTIALS_FILE", "credentials.json"}, true}, // not an absolute path: suspicious
		{kv{"GITHUB_TOKEN", "t"}, true},
		{kv{"OPENSEARCH_URL", "https://admin:hunter2@search:9200"}, true},
		{kv{"FCM_CREDENTIALS_FILE", "/secrets/fcm.json"}, false},
		{kv{"HTTP_ADDR", ":8080"}, false},
		{kv{"REDIS_ADDR", "redis:6379"}, false},
		{kv{"EMBEDDINGS_URL", "http://embeddings:8089"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.env.Name+"="+tt.env.Value, func(t *testing.T) {
			got := len(secretsInEnvironment([]kv{tt.env})) > 0
			assert.Equal(t, tt.want, got, "got flagged=%v, want %v", got, tt.want)
		})
	}
}

// Every deployable has a main: the image builds ./cmd/... into /usr/local/bin.
func TestEveryDeployableHasAMain(t *testing.T) {
	root, err := toolchain.RepoRoot()
	require.NoError(t, err)
	for _, name := range deployables {
		dir := filepath.Join(root, "cmd", name)
		entries, err := os.ReadDir(dir)
		if !assert.NoError(t, err, "cmd/%s: the task definition runs /usr/local/bin/%s", name, name) {
			continue
		}
		hasMain := false
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				require.NoError(t, err)
				if regexp.MustCompile(`(?m)^package main\b`).Match(b) {
					hasMain = true
				}
			}
		}
		assert.True(t, hasMain, "cmd/%s has no package main", name)
	}
}

type serviceDef struct {
	Cluster                 string
	ServiceName             string
	TaskDefinition          string
	DesiredCount            int
	LaunchType              string
	DeploymentConfiguration struct {
		DeploymentCircuitBreaker *struct{ Enable, Rollback bool }
		MaximumPercent           int
		MinimumHealthyPercent    int
	}
	LoadBalancers []struct {
		TargetGroupArn string
		ContainerName  string
		ContainerPort  int
	}
	HealthCheckGracePeriodSeconds *int
	NetworkConfiguration          struct {
		AwsvpcConfiguration struct {
			Subnets        []string
			SecurityGroups []string
			AssignPublicIP string
		}
	}
}

func TestServices(t *testing.T) {
	all := files(t)
	var got []string
	for _, f := range all {
		if f.kind.operation == "CreateService" {
			got = append(got, strings.TrimSuffix(f.name, ".service.json"))
		}
	}
	assert.ElementsMatch(t, services, got, "got services %v, want one per long-running deployable", got)

	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			var s serviceDef
			plain(t, fileNamed(t, all, name+".service.json").doc, &s)
			td := loadTaskDef(t, all, name)
			assert.Equal(t, "couponpop-"+name, s.ServiceName)
			assert.Equal(t, td.Family, s.TaskDefinition, "the service runs its task definition's family")
			assert.Equal(t, "FARGATE", s.LaunchType)
			assert.Positive(t, s.DesiredCount)
			dc := s.DeploymentConfiguration
			if assert.NotNil(t, dc.DeploymentCircuitBreaker, "deploymentCircuitBreaker") {
				assert.True(t, dc.DeploymentCircuitBreaker.Enable, "circuit breaker enabled")
				assert.True(t, dc.DeploymentCircuitBreaker.Rollback, "circuit breaker rolls back")
			}
			assert.Positive(t, dc.MaximumPercent, "maximumPercent")
			assert.GreaterOrEqual(t, dc.MaximumPercent, 100, "maximumPercent")
			assert.LessOrEqual(t, dc.MinimumHealthyPercent, 100, "minimumHealthyPercent")
			assert.Greater(t, dc.MaximumPercent, dc.MinimumHealthyPercent, "a deployment must be able to move")
			vpc := s.NetworkConfiguration.AwsvpcConfiguration
			assert.NotEmpty(t, vpc.Subnets, "subnets")
			assert.NotEmpty(t, vpc.SecurityGroups, "securityGroups")

			if name != "api" {
				assert.Empty(t, s.LoadBalancers, "only the api sits behind the load balancer")
				return
			}
			require.Len(t, s.LoadBalancers, 1)
			lb := s.LoadBalancers[0]
			c, ok := td.container(lb.ContainerName)
			require.True(t, ok, "load balancer container %q is not in the task definition", lb.ContainerName)
			var ports []int
			for _, p := range c.PortMappings {
				ports = append(ports, p.ContainerPort)
			}
			assert.Contains(t, ports, lb.ContainerPort, "load balancer port")
			if assert.NotNil(t, s.HealthCheckGracePeriodSeconds, "healthCheckGracePeriodSeconds") {
				assert.Positive(t, *s.HealthCheckGracePeriodSeconds)
			}

			var tg struct {
				Port            int
				Protocol        string
				TargetType      string
				HealthCheckPath string
				Matcher         struct{ HTTPCode string }
			}
			plain(t, fileNamed(t, all, "api.target-group.json").doc, &tg)
			assert.Equal(t, "/readyz", tg.HealthCheckPath, "the ALB asks /readyz")
			assert.Equal(t, lb.ContainerPort, tg.Port, "target group port")
			assert.Equal(t, "ip", tg.TargetType, "awsvpc tasks register by IP")
			assert.Equal(t, "200", tg.Matcher.HTTPCode)
		})
	}
}

func TestAutoscaling(t *testing.T) {
	all := files(t)
	for _, f := range all {
		if f.kind.service != "application-autoscaling" {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			var a struct {
				ServiceNamespace, ResourceId, ScalableDimension, PolicyType string
				MinCapacity, MaxCapacity                                    int
				TargetTrackingScalingPolicyConfiguration                    *struct {
					TargetValue                   float64
					PredefinedMetricSpecification struct{ PredefinedMetricType string }
				}
			}
			plain(t, f.doc, &a)
			name := strings.SplitN(f.name, ".", 2)[0]
			var s serviceDef
			plain(t, fileNamed(t, all, name+".service.json").doc, &s)
			assert.Equal(t, "ecs", a.ServiceNamespace)
			assert.Equal(t, "ecs:service:DesiredCount", a.ScalableDimension)
			assert.Equal(t, fmt.Sprintf("service/%s/%s", s.Cluster, s.ServiceName), a.ResourceId, "resource id names the service")
			if f.kind.operation == "RegisterScalableTarget" {
				assert.LessOrEqual(t, a.MinCapacity, s.DesiredCount, "min capacity vs the service's desiredCount")
				assert.GreaterOrEqual(t, a.MaxCapacity, s.DesiredCount, "max capacity vs the service's desiredCount")
				fileNamed(t, all, name+".scaling-policy.json")
				return
			}
			assert.Equal(t, "TargetTrackingScaling", a.PolicyType)
			if assert.NotNil(t, a.TargetTrackingScalingPolicyConfiguration) {
				c := a.TargetTrackingScalingPolicyConfiguration
				assert.Equal(t, "ECSServiceAverageCPUUtilization", c.PredefinedMetricSpecification.PredefinedMetricType)
				assert.Greater(t, c.TargetValue, 0.0)
				assert.Less(t, c.TargetValue, 100.0)
			}
			fileNamed(t, all, name+".scalable-target.json")
		})
	}
	fileNamed(t, all, "api.scaling-policy.json")
}

func TestBatchSchedules(t *testing.T) {
	all := files(t)
	ecs := models(t)["ecs"]
	batch := loadTaskDef(t, all, "batch")
	schedules := map[string]*regexp.Regexp{
		"expire": regexp.MustCompile(`^rate\(1 hour\)$|^cron\(\S+ \* \* \* \? \*\)$`), // hourly
		"remind": regexp.MustCompile(`^rate\(1 day\)$|^cron\(\d+ \d+ \* \* \? \*\)$`), // daily
	}
	for job, want := range schedules {
		t.Run(job, func(t *testing.T) {
			var rule struct{ Name, ScheduleExpression, State string }
			plain(t, fileNamed(t, all, "batch-"+job+".rule.json").doc, &rule)
			assert.Regexp(t, want, rule.ScheduleExpression, "schedule of batch %s", job)
			assert.Equal(t, "ENABLED", rule.State)

			var targets struct {
				Rule    string
				Targets []struct {
					Arn, RoleArn, Input string
					EcsParameters       *struct {
						TaskDefinitionArn string
						LaunchType        string
						TaskCount         int
					}
				}
			}
			f := fileNamed(t, all, "batch-"+job+".targets.json")
			plain(t, f.doc, &targets)
			assert.Equal(t, rule.Name, targets.Rule, "targets attach to the rule")
			require.Len(t, targets.Targets, 1)
			tg := targets.Targets[0]
			require.NotNil(t, tg.EcsParameters)
			assert.Equal(t, "FARGATE", tg.EcsParameters.LaunchType)
			assert.Equal(t, 1, tg.EcsParameters.TaskCount)
			assert.NotEmpty(t, tg.RoleArn, "EventBridge needs a role to run ECS tasks")
			assert.Contains(t, string(f.raw), `"TaskDefinitionArn": "${BATCH_TASK_DEFINITION_ARN}"`,
				"the pipeline points the schedule at the revision it just registered")

			// Input is the ECS task override EventBridge passes to RunTask:
			// validate it against the ECS model too.
			override, err := awsmodel.Decode([]byte(tg.Input))
			require.NoError(t, err, "Input is JSON")
			errs := ecs.ValidateShape("TaskOverride", override)
			assert.Equal(t, 0, len(errs), "Input against ecs TaskOverride:\n%s", joinErrs(errs))
			var o struct {
				ContainerOverrides []struct {
					Name    string
					Command []string
				}
			}
			plain(t, override, &o)
			require.Len(t, o.ContainerOverrides, 1)
			_, ok := batch.container(o.ContainerOverrides[0].Name)
			assert.True(t, ok, "override names container %q, not in the batch task definition", o.ContainerOverrides[0].Name)
			assert.Equal(t, []string{job}, o.ContainerOverrides[0].Command, "runs `batch %s`", job)
		})
	}
}

func TestMigrateRunsOnceAndUp(t *testing.T) {
	all := files(t)
	td := loadTaskDef(t, all, "migrate")
	c, ok := td.container("migrate")
	require.True(t, ok)
	assert.Equal(t, []string{"up"}, c.Command, "runs `migrate up`")
	assert.Empty(t, c.PortMappings, "a one-off task serves nothing")

	var rt struct {
		TaskDefinition string
		LaunchType     string
		Count          int
	}
	plain(t, fileNamed(t, all, "migrate.run-task.json").doc, &rt)
	assert.Equal(t, td.Family, rt.TaskDefinition)
	assert.Equal(t, "FARGATE", rt.LaunchType)
	assert.Equal(t, 1, rt.Count, "one migration at a time")
	assert.False(t, slices.ContainsFunc(all, func(f file) bool { return f.name == "migrate.service.json" || f.name == "batch.service.json" }),
		"batch and migrate are not services")
}
