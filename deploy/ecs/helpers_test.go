package ecs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/awsmodel"
	"github.com/couponpop/couponpop/deploy/internal/toolchain"
)

// kind says which AWS API call a file is the input of, by its name's suffix.
type kind struct {
	suffix    string
	service   string // botocore's name for the service
	operation string
}

var kinds = []kind{
	{".taskdef.json", "ecs", "RegisterTaskDefinition"},
	{".service.json", "ecs", "CreateService"},
	{".run-task.json", "ecs", "RunTask"},
	{".target-group.json", "elbv2", "CreateTargetGroup"},
	{".scalable-target.json", "application-autoscaling", "RegisterScalableTarget"},
	{".scaling-policy.json", "application-autoscaling", "PutScalingPolicy"},
	{".rule.json", "events", "PutRule"},
	{".targets.json", "events", "PutTargets"},
}

func kindOf(name string) (kind, bool) {
	for _, k := range kinds {
		if strings.HasSuffix(name, k.suffix) {
			return k, true
		}
	}
	return kind{}, false
}

// sampleEnv is what the pipeline provides at deploy time, with realistic
// values, so the rendered files meet the models' patterns and lengths.
var sampleEnv = map[string]string{
	"AWS_ACCOUNT_ID":            "123456789012",
	"AWS_REGION":                "ap-northeast-2",
	"IMAGE":                     "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/couponpop:0123456789ab",
	"ECS_CLUSTER":               "couponpop",
	"SUBNET_A":                  "subnet-0123456789abcdef0",
	"SUBNET_B":                  "subnet-0fedcba9876543210",
	"SECURITY_GROUP_ID":         "sg-0123456789abcdef0",
	"VPC_ID":                    "vpc-0123456789abcdef0",
	"API_TARGET_GROUP_ARN":      "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/couponpop-api/0123456789abcdef",
	"BATCH_TASK_DEFINITION_ARN": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/couponpop-batch:7",
	"REDIS_ADDR":                "couponpop.abc123.0001.apn2.cache.amazonaws.com:6379",
	"EMBEDDINGS_URL":            "http://embeddings.couponpop.internal:8089",
	"FCM_PROJECT_ID":            "couponpop-prod",
}

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// render fills placeholders from env the way deploy/ecs/render.sh does.
func render(t *testing.T, raw []byte, env map[string]string) []byte {
	t.Helper()
	return placeholderRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(placeholderRE.FindSubmatch(m)[1])
		v, ok := env[name]
		require.True(t, ok, "placeholder ${%s} has no sample value", name)
		// Values go inside JSON strings: escape as JSON would.
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b[1 : len(b)-1]
	})
}

func placeholders(raw []byte) []string {
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllSubmatch(raw, -1) {
		seen[string(m[1])] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	modelsOnce sync.Once
	modelsErr  error
	modelsDir  string
	loaded     map[string]*awsmodel.Model
)

// models loads botocore's models of every service that deploy/ecs uses. No
// botocore is a failure, not a skip: the files would go unchecked.
func models(t *testing.T) map[string]*awsmodel.Model {
	t.Helper()
	modelsOnce.Do(func() {
		modelsDir, modelsErr = toolchain.BotocoreDataDir()
		if modelsErr != nil {
			return
		}
		loaded = map[string]*awsmodel.Model{}
		for _, k := range kinds {
			if loaded[k.service] != nil {
				continue
			}
			m, err := awsmodel.Load(modelsDir, k.service)
			if err != nil {
				modelsErr = err
				return
			}
			loaded[k.service] = m
		}
	})
	if modelsErr != nil {
		t.Fatalf("cannot load AWS API models: %v", modelsErr)
	}
	return loaded
}

type file struct {
	name     string
	kind     kind
	raw      []byte
	rendered []byte
	doc      map[string]any // rendered, decoded with json.Number
}

// files reads every deploy file in this directory.
func files(t *testing.T) []file {
	t.Helper()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var out []file
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		k, ok := kindOf(e.Name())
		require.True(t, ok, "%s: no known kind; name it *%s", e.Name(), suffixes())
		raw, err := os.ReadFile(filepath.Join(".", e.Name()))
		require.NoError(t, err)
		rendered := render(t, raw, sampleEnv)
		v, err := awsmodel.Decode(rendered)
		require.NoError(t, err, "%s after rendering", e.Name())
		doc, ok := v.(map[string]any)
		require.True(t, ok, "%s: top level is %T, want an object", e.Name(), v)
		out = append(out, file{name: e.Name(), kind: k, raw: raw, rendered: rendered, doc: doc})
	}
	require.NotEmpty(t, out, "no deploy files found")
	return out
}

func suffixes() string {
	var s []string
	for _, k := range kinds {
		s = append(s, k.suffix)
	}
	return strings.Join(s, " | *")
}

func fileNamed(t *testing.T, all []file, name string) file {
	t.Helper()
	for _, f := range all {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("deploy/ecs/%s is missing", name)
	return file{}
}

// plain converts a decoded document (json.Number leaves) to one decoded by
// encoding/json (float64 leaves), for typed access through a struct.
func plain(t *testing.T, doc any, into any) {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, into))
}
