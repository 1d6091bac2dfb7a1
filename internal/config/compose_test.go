package config_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/runhook/runhook/internal/config"
)

// The compose file cannot be run here (no Docker), so these tests hold it to
// what running it would need: real config keys, pinned images, loopback ports.

const repoRoot = "../.."

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// runhookServices are the ones built from this repo, i.e. running our binaries.
func runhookServices(c composeFile) map[string]composeService {
	out := map[string]composeService{}
	for name, s := range c.Services {
		if s.Build != nil {
			out[name] = s
		}
	}
	return out
}

func TestComposeServicesExist(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"clickhouse", "temporal-postgres", "temporal-schema", "temporal", "temporal-create-namespace", "temporal-ui", "migrate", "worker", "server", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %q missing", name)
		}
	}
}

func TestComposeImagesPinned(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		if s.Build != nil {
			continue
		}
		image, _, digested := strings.Cut(s.Image, "@")
		tag := ""
		if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
			tag = image[i+1:]
		}
		if !digested && (tag == "" || tag == "latest") {
			t.Errorf("service %s: image %q is not pinned to a version tag", name, s.Image)
		}
	}
}

func TestComposePortsOnLoopback(t *testing.T) {
	c := loadCompose(t)
	published := map[string][]string{} // service -> "host:container"
	for name, s := range c.Services {
		for _, p := range s.Ports {
			ip, rest, _ := strings.Cut(p, ":")
			if ip != "127.0.0.1" {
				t.Errorf("service %s: port %q is not bound to 127.0.0.1", name, p)
			}
			published[name] = append(published[name], rest)
		}
	}
	for _, want := range []struct{ service, ports string }{
		{"clickhouse", "9000:9000"},
		{"temporal", "7233:7233"},
		{"temporal-ui", "8233:8080"},
		{"prometheus", "9090:9090"},
		{"grafana", "3000:3000"},
	} {
		if !slices.Contains(published[want.service], want.ports) {
			t.Errorf("service %s: want port 127.0.0.1:%s, have %v", want.service, want.ports, published[want.service])
		}
	}
	// Workers are scaled (--scale worker=N) and Prometheus reaches them on the
	// compose network; a fixed host port would let only one of them start.
	if p := published["worker"]; len(p) > 0 {
		t.Errorf("service worker: publishes %v; replicas would collide on the host port", p)
	}
}

func TestComposeRunhookEnvIsConfig(t *testing.T) {
	keys := config.Keys()
	for name, s := range runhookServices(loadCompose(t)) {
		for env := range s.Environment {
			key, ok := config.KeyForEnv(env)
			if !ok || !slices.Contains(keys, key) {
				t.Errorf("service %s: environment variable %s is not a runhook config key (keys: %s)", name, env, strings.Join(keys, ", "))
			}
		}
	}
}

// The defaults point at 127.0.0.1, which inside a container is the container
// itself, so each address must be set and name the service that serves it.
func TestComposeRunhookAddresses(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []struct{ service, key, host string }{
		{"migrate", "clickhouse.addr", "clickhouse"},
		{"worker", "clickhouse.addr", "clickhouse"},
		{"worker", "temporal.address", "temporal"},
		{"server", "clickhouse.addr", "clickhouse"},
		{"server", "temporal.address", "temporal"},
	} {
		env := config.EnvForKey(want.key)
		value := c.Services[want.service].Environment[env]
		host, _, err := net.SplitHostPort(value)
		if err != nil || host != want.host {
			t.Errorf("service %s: %s = %q, want %s:PORT", want.service, env, value, want.host)
		}
	}
	for _, service := range []string{"worker", "server"} {
		if c.Services[service].Environment[config.EnvForKey("secrets.key")] == "" {
			t.Errorf("service %s: %s not set", service, config.EnvForKey("secrets.key"))
		}
	}
	// The API must listen beyond the container's own loopback to be published.
	if host, _, _ := net.SplitHostPort(c.Services["server"].Environment[config.EnvForKey("api.addr")]); host != "0.0.0.0" {
		t.Errorf("service server: %s must listen on 0.0.0.0", config.EnvForKey("api.addr"))
	}
}

func TestComposeRunhookServices(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []struct {
		service   string
		command   []string
		dependsOn map[string]string
	}{
		{"migrate", []string{"starter", "migrate"}, map[string]string{"clickhouse": "service_healthy"}},
		{"worker", []string{"worker"}, map[string]string{"migrate": "service_completed_successfully", "temporal": "service_healthy"}},
		{"server", []string{"server"}, map[string]string{"migrate": "service_completed_successfully", "temporal": "service_healthy"}},
	} {
		s := c.Services[want.service]
		if !slices.Equal(s.Command, want.command) {
			t.Errorf("service %s: command %q, want %q", want.service, s.Command, want.command)
		}
		if s.Build == nil {
			t.Errorf("service %s: not built from this repo", want.service)
		} else {
			dockerfile := filepath.Join(repoRoot, s.Build.Context, s.Build.Dockerfile)
			if s.Build.Dockerfile == "" {
				dockerfile = filepath.Join(repoRoot, s.Build.Context, "Dockerfile")
			}
			if dockerfile != filepath.Join(repoRoot, "Dockerfile") {
				t.Errorf("service %s: builds %s, want the repo's Dockerfile", want.service, dockerfile)
			}
		}
		for dep, cond := range want.dependsOn {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("service %s: depends_on %s condition %q, want %q", want.service, dep, got, cond)
			}
		}
	}
}

func TestComposeDockerfileBuildsBinaries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(b)
	for _, pkg := range []string{"./worker", "./starter", "./server"} {
		if !regexp.MustCompile(`go build [^\n]*` + regexp.QuoteMeta(pkg) + `\b`).MatchString(dockerfile) {
			t.Errorf("Dockerfile does not go build %s", pkg)
		}
	}
	if !strings.Contains(dockerfile, "CGO_ENABLED=0") {
		t.Error("Dockerfile does not build with CGO_ENABLED=0, so the binaries may need the builder's libc")
	}
	if m := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(dockerfile, -1); len(m) == 0 || slices.Contains([]string{"root", "0", "0:0"}, m[len(m)-1][1]) {
		t.Error("Dockerfile's final stage must run as a non-root USER")
	}
}
