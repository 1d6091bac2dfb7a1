package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/metrics"
)

const repoRoot = ".."

// The files under test, as paths from the repo root. Each is also held to be
// the file the compose mounts put where its reader looks, so a mount that
// points elsewhere fails the tests.
const (
	prometheusConfig  = "deploy/prometheus/prometheus.yml"
	grafanaDatasource = "deploy/grafana/provisioning/datasources/prometheus.yml"
	grafanaProvider   = "deploy/grafana/provisioning/dashboards/runhook.yml"
	dashboardFile     = "deploy/grafana/dashboards/runhook.json"
)

// --- docker-compose.yml ---

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	// The short syntax, SOURCE:TARGET[:MODE]; the long one would fail to decode.
	Volumes []string `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"worker", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("docker-compose.yml: service %q missing", name)
		}
	}
	return c
}

type mount struct {
	source, target string
	readOnly, bind bool
}

func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("volume %q: want SOURCE:TARGET[:MODE]", v)
		}
		m := mount{source: parts[0], target: parts[1]}
		m.bind = strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
		m.readOnly = len(parts) == 3 && slices.Contains(strings.Split(parts[2], ","), "ro")
		out = append(out, m)
	}
	return out
}

// repoPath maps a path inside the service's container to the repo file a
// bind mount puts there, as a path from the repo root.
func (s composeService) repoPath(t *testing.T, name, inContainer string) string {
	t.Helper()
	var best *mount
	for _, m := range s.mounts(t) {
		if inContainer == m.target || strings.HasPrefix(inContainer, m.target+"/") {
			if best == nil || len(m.target) > len(best.target) {
				best = &m
			}
		}
	}
	if best == nil || !best.bind {
		t.Fatalf("service %s: no bind mount from the repo holds %s (volumes: %q)", name, inContainer, s.Volumes)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(inContainer, best.target), "/")
	return filepath.ToSlash(filepath.Join(best.source, rel))
}

// namedVolumeAt fails unless a named volume, declared at the top level, is
// mounted at target: data must outlive the container.
func (c composeFile) namedVolumeAt(t *testing.T, service, target string) {
	t.Helper()
	for _, m := range c.Services[service].mounts(t) {
		if m.target == target {
			if m.bind {
				t.Errorf("service %s: %s is a bind mount, want a named volume", service, target)
			} else if _, ok := c.Volumes[m.source]; !ok {
				t.Errorf("service %s: volume %s is not declared under the top-level volumes", service, m.source)
			}
			return
		}
	}
	t.Errorf("service %s: no volume at %s, so its data would go with the container", service, target)
}

// flag returns the value of --name=value in the service's command, or def.
func (s composeService) flag(name, def string) string {
	for _, arg := range s.Command {
		if v, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return v
		}
	}
	return def
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeStrict fails on keys the struct does not know: Prometheus refuses
// them too, and Grafana silently ignores them, which is worse.
func decodeStrict(t *testing.T, rel string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readRepoFile(t, rel)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// --- Prometheus ---

type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName      string `yaml:"job_name"`
		MetricsPath  string `yaml:"metrics_path"`
		Scheme       string `yaml:"scheme"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// loadPrometheus reads the config the prometheus service runs with and
// returns it with the job that scrapes the worker service.
func loadPrometheus(t *testing.T, c composeFile) (cfg promConfig, job string) {
	t.Helper()
	prom := c.Services["prometheus"]
	rel := prom.repoPath(t, "prometheus", prom.flag("config.file", "/etc/prometheus/prometheus.yml"))
	if rel != prometheusConfig {
		t.Fatalf("service prometheus: its config file comes from %s, want %s", rel, prometheusConfig)
	}
	decodeStrict(t, prometheusConfig, &cfg)
	for _, sc := range cfg.ScrapeConfigs {
		for _, sd := range sc.DNSSDConfigs {
			if slices.Contains(sd.Names, "worker") {
				if job != "" {
					t.Fatalf("%s: more than one job scrapes the worker service", prometheusConfig)
				}
				job = sc.JobName
			}
		}
	}
	if job == "" {
		t.Fatalf("%s: no scrape job finds the compose service worker through dns_sd_configs", prometheusConfig)
	}
	return cfg, job
}

func TestPrometheusScrapesEveryWorker(t *testing.T) {
	c := loadCompose(t)
	cfg, job := loadPrometheus(t, c)

	_, metricsPort, err := net.SplitHostPort(c.Services["worker"].Environment[config.EnvForKey("metrics.addr")])
	if err != nil {
		t.Fatalf("service worker: %s: %v", config.EnvForKey("metrics.addr"), err)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != job {
			continue
		}
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s: metrics_path %q, but the worker serves /metrics", job, sc.MetricsPath)
		}
		if sc.Scheme != "" && sc.Scheme != "http" {
			t.Errorf("job %s: scheme %q, but the worker serves plain http", job, sc.Scheme)
		}
		for _, sd := range sc.DNSSDConfigs {
			// SRV, the default, is a record Compose's DNS does not serve; A
			// lists every container of the service.
			if sd.Type != "A" {
				t.Errorf("job %s: dns_sd_configs type %q, want A", job, sd.Type)
			}
			if fmt.Sprint(sd.Port) != metricsPort {
				t.Errorf("job %s: scrapes port %d, the worker serves metrics on %s", job, sd.Port, metricsPort)
			}
		}
	}

	interval, err := model.ParseDuration(cfg.Global.ScrapeInterval)
	if err != nil {
		t.Fatalf("scrape_interval: %v", err)
	}
	if cfg.Global.ScrapeTimeout != "" {
		timeout, err := model.ParseDuration(cfg.Global.ScrapeTimeout)
		if err != nil || timeout > interval {
			t.Errorf("scrape_timeout %q: want a duration no longer than scrape_interval %s (else Prometheus refuses the config)", cfg.Global.ScrapeTimeout, interval)
		}
	}

	c.namedVolumeAt(t, "prometheus", c.Services["prometheus"].flag("storage.tsdb.path", "/prometheus"))
}

// --- Grafana ---

type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string `yaml:"name"`
		UID       string `yaml:"uid"`
		Type      string `yaml:"type"`
		Access    string `yaml:"access"`
		URL       string `yaml:"url"`
		IsDefault bool   `yaml:"isDefault"`
		Editable  bool   `yaml:"editable"`
		JSONData  struct {
			TimeInterval string `yaml:"timeInterval"`
		} `yaml:"jsonData"`
	} `yaml:"datasources"`
}

type grafanaProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		Type                  string `yaml:"type"`
		OrgID                 int    `yaml:"orgId"`
		Folder                string `yaml:"folder"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// grafanaFile checks that the grafana service sees the repo file rel at
// inContainer.
func grafanaFile(t *testing.T, c composeFile, inContainer, rel string) {
	t.Helper()
	if got := c.Services["grafana"].repoPath(t, "grafana", inContainer); got != rel {
		t.Errorf("service grafana: %s comes from %s, want %s", inContainer, got, rel)
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	grafana := c.Services["grafana"]

	// Grafana reads provisioning from /etc/grafana/provisioning/{datasources,dashboards}.
	grafanaFile(t, c, "/etc/grafana/provisioning/datasources/prometheus.yml", grafanaDatasource)
	grafanaFile(t, c, "/etc/grafana/provisioning/dashboards/runhook.yml", grafanaProvider)

	var ds grafanaDatasources
	decodeStrict(t, grafanaDatasource, &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("%s: want apiVersion 1 and one datasource, have %+v", grafanaDatasource, ds)
	}
	d := ds.Datasources[0]
	if d.Type != "prometheus" || d.UID == "" || !d.IsDefault {
		t.Errorf("%s: want the default prometheus datasource with a fixed uid, have %+v", grafanaDatasource, d)
	}
	if uids := dashboardDatasourceUIDs(t, loadDashboard(t)); !slices.Equal(uids, []string{d.UID}) {
		t.Errorf("the dashboard uses datasource uids %q, the provisioned one is %q", uids, d.UID)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatalf("%s: url: %v", grafanaDatasource, err)
	}
	if u.Hostname() != "prometheus" {
		t.Errorf("%s: url %s does not name the compose service prometheus", grafanaDatasource, d.URL)
	}
	if _, listen, _ := net.SplitHostPort(c.Services["prometheus"].flag("web.listen-address", ":9090")); u.Port() != listen {
		t.Errorf("%s: url %s, but Prometheus listens on port %s", grafanaDatasource, d.URL, listen)
	}
	// $__rate_interval is four times this at least; below the scrape interval
	// rate() would see fewer than two samples and draw gaps.
	cfg, _ := loadPrometheus(t, c)
	if d.JSONData.TimeInterval != cfg.Global.ScrapeInterval {
		t.Errorf("%s: timeInterval %q, want Prometheus's scrape_interval %q", grafanaDatasource, d.JSONData.TimeInterval, cfg.Global.ScrapeInterval)
	}

	var pv grafanaProviders
	decodeStrict(t, grafanaProvider, &pv)
	if pv.APIVersion != 1 || len(pv.Providers) != 1 || pv.Providers[0].Type != "file" {
		t.Fatalf("%s: want apiVersion 1 and one file provider, have %+v", grafanaProvider, pv)
	}
	grafanaFile(t, c, path.Join(pv.Providers[0].Options.Path, filepath.Base(dashboardFile)), dashboardFile)
	if home := grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		grafanaFile(t, c, home, dashboardFile)
	}

	for _, m := range grafana.mounts(t) {
		if m.bind && !m.readOnly {
			t.Errorf("service grafana: %s is mounted writable; Grafana has no business changing the repo", m.source)
		}
	}
	for _, m := range c.Services["prometheus"].mounts(t) {
		if m.bind && !m.readOnly {
			t.Errorf("service prometheus: %s is mounted writable", m.source)
		}
	}
	c.namedVolumeAt(t, "grafana", "/var/lib/grafana")

	env := grafana.Environment
	if env["GF_AUTH_ANONYMOUS_ENABLED"] != "true" || env["GF_AUTH_ANONYMOUS_ORG_ROLE"] != "Viewer" {
		t.Errorf("service grafana: want anonymous Viewer access, have GF_AUTH_ANONYMOUS_ENABLED=%q GF_AUTH_ANONYMOUS_ORG_ROLE=%q",
			env["GF_AUTH_ANONYMOUS_ENABLED"], env["GF_AUTH_ANONYMOUS_ORG_ROLE"])
	}
	// Never a password written into the file alone: one from the environment,
	// with the documented default.
	if !regexp.MustCompile(`^\$\{[A-Z][A-Z0-9_]*:-[^}]+\}$`).MatchString(env["GF_SECURITY_ADMIN_PASSWORD"]) {
		t.Errorf("service grafana: GF_SECURITY_ADMIN_PASSWORD must be ${VARIABLE:-default}")
	}
}

// --- the dashboard ---

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []json.RawMessage `json:"list"`
	} `json:"templating"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int            `json:"id"`
	Title      string         `json:"title"`
	Type       string         `json:"type"`
	Datasource *datasourceRef `json:"datasource"`
	GridPos    struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	} `json:"gridPos"`
	Targets []struct {
		Datasource *datasourceRef `json:"datasource"`
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a row's
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b := readRepoFile(t, dashboardFile)
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens rows, which hold their panels while collapsed.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func dashboardDatasourceUIDs(t *testing.T, d dashboard) []string {
	t.Helper()
	var uids []string
	add := func(where string, ref *datasourceRef) {
		if ref == nil || ref.UID == "" || ref.Type != "prometheus" {
			t.Errorf("%s: %s has no prometheus datasource uid (%+v)", dashboardFile, where, ref)
			return
		}
		if !slices.Contains(uids, ref.UID) {
			uids = append(uids, ref.UID)
		}
	}
	for _, p := range allPanels(d.Panels) {
		if p.Type == "row" {
			continue
		}
		add(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		for _, tg := range p.Targets {
			add(fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Datasource)
		}
	}
	return uids
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	// 42 is the last classic-model schema version, the one Grafana 12 writes;
	// an older one would be migrated at every load, a newer one is Grafana 13's.
	if d.SchemaVersion != 42 {
		t.Errorf("schemaVersion %d, want 42", d.SchemaVersion)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("the dashboard needs a fixed uid and a title, so links to it last")
	}
	if len(d.Templating.List) != 0 {
		t.Errorf("the dashboard defines variables; the expression checks below know none")
	}
	ids, titles := map[int]bool{}, map[string]bool{}
	var placed []panel
	for _, p := range allPanels(d.Panels) {
		if p.ID <= 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d missing or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || titles[p.Title] {
			t.Errorf("panel id %d: title %q empty or not unique", p.ID, p.Title)
		}
		titles[p.Title] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: query %q has an empty or repeated refId or no expr", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside Grafana's 24 columns", p.Title, g)
		}
		for _, q := range placed {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				t.Errorf("panels %q and %q overlap", p.Title, q.Title)
			}
		}
		placed = append(placed, p)
	}
	if len(placed) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	dashboardDatasourceUIDs(t, d)
}

// series are what Prometheus stores from one scrape of a worker: each
// series name with its label names and the values seen for each label.
type series map[string]map[string][]string

// scrapeWorker serves a fresh registry's /metrics, as the worker does, and
// parses it as Prometheus would, so the names come from the code and not
// from a list kept by hand.
func scrapeWorker(t *testing.T) series {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.New().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	out := series{}
	add := func(name string, m *dto.Metric, extra ...string) {
		ls := out[name]
		if ls == nil {
			ls = map[string][]string{}
			out[name] = ls
		}
		for _, lp := range m.GetLabel() {
			if !slices.Contains(ls[lp.GetName()], lp.GetValue()) {
				ls[lp.GetName()] = append(ls[lp.GetName()], lp.GetValue())
			}
		}
		for _, l := range extra {
			ls[l] = nil // values not checked
		}
	}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				add(name+"_bucket", m, "le")
				add(name+"_sum", m)
				add(name+"_count", m)
			case dto.MetricType_GAUGE_HISTOGRAM:
				add(name+"_bucket", m, "le")
				add(name+"_gsum", m)
				add(name+"_gcount", m)
			case dto.MetricType_SUMMARY:
				add(name, m, "quantile")
				add(name+"_sum", m)
				add(name+"_count", m)
			default:
				add(name, m)
			}
		}
	}
	return out
}

// Prometheus adds these to every target itself; the worker does not serve them.
var (
	targetLabels     = []string{"job", "instance"}
	perTargetSeries  = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}
	grafanaVariables = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)
)

// knownValue reports whether a matcher's value can match what the worker
// exports: literal alternatives (a|b) must each be real values.
func knownValue(m promMatcher, values []string) (bool, error) {
	switch m.op {
	case "=", "!=":
		return slices.Contains(values, m.value), nil
	}
	if regexp.MustCompile(`^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$`).MatchString(m.value) {
		for _, v := range strings.Split(m.value, "|") {
			if !slices.Contains(values, v) {
				return false, nil
			}
		}
		return true, nil
	}
	// Prometheus anchors label regexps.
	re, err := regexp.Compile("^(?:" + m.value + ")$")
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(values, re.MatchString), nil
}

func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	c := loadCompose(t)
	_, job := loadPrometheus(t, c)
	exported := scrapeWorker(t)
	used := map[string]bool{}

	for _, p := range allPanels(loadDashboard(t).Panels) {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			// Grafana fills these in before Prometheus sees the query.
			expr := grafanaVariables.ReplaceAllString(tg.Expr, "1m")
			if strings.Contains(expr, "$") {
				t.Errorf("%s: %q uses a variable the dashboard does not define", where, tg.Expr)
				continue
			}
			q, err := readPromQuery(expr)
			if err != nil {
				t.Errorf("%s: %q: %v", where, tg.Expr, err)
				continue
			}
			// Labels the query may group by: the target's and those of
			// every series it selects.
			allowed := slices.Clone(targetLabels)
			for _, sel := range q.selectors {
				used[sel.name] = true
				labelValues, ok := exported[sel.name]
				switch {
				case ok:
				case slices.Contains(perTargetSeries, sel.name):
					labelValues = map[string][]string{}
				case strings.HasPrefix(sel.name, "process_") && runtime.GOOS != "linux":
					// The process collector reads /proc: only on Linux, which
					// the worker image runs, does it export all its metrics.
					// Elsewhere the name cannot be checked.
					t.Logf("%s: %s is exported only on Linux; not checked on %s", where, sel.name, runtime.GOOS)
					continue
				default:
					t.Errorf("%s: %q selects %s, which the worker does not export", where, tg.Expr, sel.name)
					continue
				}
				hasJob := false
				for _, m := range sel.matchers {
					values, exportedLabel := labelValues[m.label]
					switch {
					case m.label == "job":
						hasJob = m.op == "=" && m.value == job
					case slices.Contains(targetLabels, m.label):
					case !exportedLabel:
						t.Errorf("%s: %s has no label %q", where, sel.name, m.label)
					case values != nil:
						if known, err := knownValue(m, values); err != nil || !known {
							t.Errorf("%s: %s{%s%s%q}: the worker exports only %s=%q (%v)", where, sel.name, m.label, m.op, m.value, m.label, values, err)
						}
					}
				}
				if !hasJob {
					t.Errorf("%s: %s is not restricted to job=%q, so other scrape jobs would mix in", where, sel.name, job)
				}
				for l := range labelValues {
					allowed = append(allowed, l)
				}
			}
			for _, l := range q.grouping {
				if !slices.Contains(allowed, l) {
					t.Errorf("%s: groups by %q, a label none of its series has", where, l)
				}
			}
		}
	}

	// Every runhook metric has a panel, and so has each thing issue 6 asks
	// for beside them: memory, CPU, goroutines and the workers up.
	var want []string
	for name := range exported {
		if strings.HasPrefix(name, "runhook_") && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") {
			want = append(want, name)
		}
	}
	if len(want) == 0 {
		t.Fatal("the worker exports no runhook_ metric")
	}
	want = append(want, "process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines", "up")
	slices.Sort(want)
	for _, name := range want {
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}
