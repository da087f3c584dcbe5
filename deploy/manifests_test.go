package deploy_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/ossproxy/ossproxy/config"
)

// kustomization is the subset of kustomize's Kustomization the manifests
// use; decoding is strict, so any other field fails the test.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
}

// bundle is every object of one directory (one example).
type bundle struct {
	dir             string
	files           []string
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	serviceAccounts map[string]*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	kustomization   *kustomization
}

// decode decodes one YAML document strictly into the k8s.io/api type its
// apiVersion and kind name.
func decode(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("reading kind: %w", err)
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		obj = new(appsv1.Deployment)
	case "v1 Service":
		obj = new(corev1.Service)
	case "v1 ConfigMap":
		obj = new(corev1.ConfigMap)
	case "v1 ServiceAccount":
		obj = new(corev1.ServiceAccount)
	case "policy/v1 PodDisruptionBudget":
		obj = new(policyv1.PodDisruptionBudget)
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		obj = new(kustomization)
	default:
		return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("decoding %s strictly: %w", tm.Kind, err)
	}
	return obj, nil
}

// splitDocs splits a YAML stream on document separators.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// loadBundles decodes every YAML file under deploy/, grouped by directory.
func loadBundles(t *testing.T) map[string]*bundle {
	t.Helper()
	bundles := map[string]*bundle{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dir := filepath.Dir(p)
		bd := bundles[dir]
		if bd == nil {
			bd = &bundle{dir: dir, configMaps: map[string]*corev1.ConfigMap{}, serviceAccounts: map[string]*corev1.ServiceAccount{}}
			bundles[dir] = bd
		}
		bd.files = append(bd.files, filepath.Base(p))
		docs := splitDocs(b)
		if len(docs) == 0 {
			t.Errorf("%s: empty", p)
		}
		for i, doc := range docs {
			obj, err := decode(doc)
			if err != nil {
				t.Errorf("%s document %d: %v", p, i+1, err)
				continue
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				bd.deployments = append(bd.deployments, o)
			case *corev1.Service:
				bd.services = append(bd.services, o)
			case *corev1.ConfigMap:
				bd.configMaps[o.Name] = o
			case *corev1.ServiceAccount:
				bd.serviceAccounts[o.Name] = o
			case *policyv1.PodDisruptionBudget:
				bd.pdbs = append(bd.pdbs, o)
			case *kustomization:
				bd.kustomization = o
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubernetes/sidecar", "kubernetes/standalone"} {
		if bundles[want] == nil {
			t.Fatalf("no manifests in deploy/%s", want)
		}
	}
	return bundles
}

func TestStrictDecodingRejectsMistakes(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"misspelt field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n"},
		{"field at the wrong level", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nports: []\n"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n"},
		{"wrong type", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {selector: yes}\n"},
		{"unknown kind", "apiVersion: v1\nkind: Pod2\nmetadata: {name: x}\n"},
		{"bad quantity", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: a, resources: {limits: {memory: lots}}}]\n"},
	}
	for _, tc := range tests {
		if _, err := decode([]byte(tc.doc)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := decode([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}]}\n")); err != nil {
		t.Errorf("valid Service refused: %v", err)
	}
}

func TestManifests(t *testing.T) {
	for dir, bd := range loadBundles(t) {
		t.Run(dir, func(t *testing.T) {
			checkKustomization(t, bd)
			if len(bd.deployments) != 1 {
				t.Fatalf("%d Deployments, want 1", len(bd.deployments))
			}
			d := bd.deployments[0]
			checkDeployment(t, bd, d)
			switch filepath.Base(dir) {
			case "standalone":
				checkStandalone(t, bd, d)
			case "sidecar":
				checkSidecar(t, bd, d)
			}
		})
	}
}

func checkKustomization(t *testing.T, bd *bundle) {
	t.Helper()
	k := bd.kustomization
	if k == nil {
		t.Fatal("no kustomization.yaml")
	}
	var want []string
	for _, f := range bd.files {
		if f != "kustomization.yaml" {
			want = append(want, f)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	slices.Sort(want)
	if !slices.Equal(got, want) || k.Namespace == "" {
		t.Errorf("kustomization lists %v in namespace %q; directory has %v", got, k.Namespace, want)
	}
}

// proxyContainer returns the ossproxy container, a native sidecar
// (init container with restartPolicy Always) or a regular one.
func proxyContainer(t *testing.T, spec *corev1.PodSpec) (*corev1.Container, bool) {
	t.Helper()
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.Name == "ossproxy" {
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.Error("ossproxy init container is not a native sidecar (restartPolicy: Always)")
			}
			return c, true
		}
	}
	for i := range spec.Containers {
		if c := &spec.Containers[i]; c.Name == "ossproxy" {
			return c, false
		}
	}
	t.Fatal("no ossproxy container")
	return nil, false
}

func checkDeployment(t *testing.T, bd *bundle, d *appsv1.Deployment) {
	t.Helper()
	spec := &d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if sa := spec.ServiceAccountName; bd.serviceAccounts[sa] == nil {
		t.Errorf("ServiceAccount %q is not in the bundle", sa)
	} else if bd.serviceAccounts[sa].Annotations["pod-identity.alibabacloud.com/role-name"] == "" {
		t.Errorf("ServiceAccount %q lacks the RRSA role-name annotation", sa)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want runAsNonRoot, a non-zero runAsUser and RuntimeDefault seccomp", psc)
	}
	c, _ := proxyContainer(t, spec)
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("ossproxy has no securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation must be false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem must be true")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v: want drop [ALL], add none", sc.Capabilities)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s request %s, limit %s: want both, request ≤ limit", res, req.String(), lim.String())
		}
	}
	// Probes hit the admin port, where the config's admin listener is
	// (checked in checkConfig).
	admin := -1
	for _, p := range c.Ports {
		if p.Name == "admin" {
			admin = int(p.ContainerPort)
		}
	}
	if admin != 9090 {
		t.Errorf("admin port %d: want a port named admin, 9090", admin)
	}
	probe := func(name string, p *corev1.Probe, wantPath string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want httpGet", name)
			return
		}
		if p.HTTPGet.Path != wantPath || p.HTTPGet.Port != intstr.FromString("admin") {
			t.Errorf("%s probe %s on %s, want %s on the admin port", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), wantPath)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if c.StartupProbe == nil {
		t.Error("no startup probe")
	}
	// RRSA: the three variables, and the token file on a projected
	// ServiceAccount token volume for STS.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for _, k := range []string{"ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"} {
		if env[k] == "" {
			t.Errorf("env %s not set", k)
		}
	}
	if !strings.HasPrefix(env["ALIBABA_CLOUD_ROLE_ARN"], "acs:ram::") || !strings.Contains(env["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"], ":oidc-provider/") {
		t.Errorf("ARNs %q %q", env["ALIBABA_CLOUD_ROLE_ARN"], env["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"])
	}
	tokenDir := path.Dir(env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"])
	var tokenVolume string
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
		if m.MountPath == tokenDir {
			tokenVolume = m.Name
		}
		if !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
	}
	var configFile string
	for _, v := range spec.Volumes {
		if _, used := mounts[v.Name]; !used {
			t.Errorf("volume %s is not mounted by ossproxy", v.Name)
		}
		switch {
		case v.Name == tokenVolume:
			if v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].ServiceAccountToken == nil {
				t.Fatalf("volume %s is not a projected ServiceAccount token", v.Name)
			}
			tok := v.Projected.Sources[0].ServiceAccountToken
			if tok.Audience != "sts.aliyuncs.com" || tokenDir+"/"+tok.Path != env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] ||
				tok.ExpirationSeconds == nil || *tok.ExpirationSeconds < 600 {
				t.Errorf("RRSA token %+v does not serve %s for audience sts.aliyuncs.com", tok, env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"])
			}
		case v.ConfigMap != nil:
			cm := bd.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("ConfigMap %s is not in the bundle", v.ConfigMap.Name)
			}
			for name := range cm.Data {
				configFile = path.Join(mounts[v.Name], name)
				checkConfig(t, bd, d, c, env, cm.Data[name])
			}
		}
	}
	if tokenVolume == "" {
		t.Errorf("nothing mounted at %s", tokenDir)
	}
	if !slices.Equal(c.Args, []string{"serve", "--config=" + configFile}) {
		t.Errorf("args %q do not serve the mounted config %s", c.Args, configFile)
	}
}

// checkConfig loads the ConfigMap's configuration with the project's
// loader and the container's environment, and checks it against the
// manifest.
func checkConfig(t *testing.T, bd *bundle, d *appsv1.Deployment, c *corev1.Container, env map[string]string, data string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, config.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("ConfigMap config does not load: %v", err)
	}
	if cfg.Credentials.Source != config.SourceRRSA {
		t.Errorf("credentials source %q, want rrsa", cfg.Credentials.Source)
	}
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	preStop := time.Duration(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if sg := cfg.Limits.ShutdownGraceOrDefault(); grace <= sg+preStop {
		t.Errorf("terminationGracePeriodSeconds %v ≤ preStop %v + shutdown_grace %v: in-flight requests would be killed", grace, preStop, sg)
	}
	ports := map[string]bool{}
	admin := ""
	for _, p := range c.Ports {
		ports[fmt.Sprint(p.ContainerPort)] = true
		if p.Name == "admin" {
			admin = fmt.Sprint(p.ContainerPort)
		}
	}
	// The kubelet probes the pod IP: the admin listener must not be
	// loopback-only, and must be on the admin port.
	if cfg.Admin.Disabled || cfg.Admin.AddressOrDefault() != "0.0.0.0:"+admin || cfg.Admin.Pprof {
		t.Errorf("admin listener %q (disabled %t, pprof %t): want 0.0.0.0:%s, enabled, no pprof",
			cfg.Admin.AddressOrDefault(), cfg.Admin.Disabled, cfg.Admin.Pprof, admin)
	}
	for _, l := range cfg.Listeners {
		_, port, _ := strings.Cut(l.Address, ":")
		if filepath.Base(bd.dir) == "standalone" && !ports[port] {
			t.Errorf("listener %s is not a container port", l.Address)
		}
	}
}

func checkStandalone(t *testing.T, bd *bundle, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %d, want ≥ 2", ptrOr(d.Spec.Replicas))
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	aff := d.Spec.Template.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil {
		t.Fatal("no pod anti-affinity")
	}
	spread := false
	for _, term := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		s, err := metav1.LabelSelectorAsSelector(term.PodAffinityTerm.LabelSelector)
		spread = spread || (err == nil && term.PodAffinityTerm.TopologyKey == "kubernetes.io/hostname" && s.Matches(podLabels))
	}
	for _, term := range aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		s, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		spread = spread || (err == nil && term.TopologyKey == "kubernetes.io/hostname" && s.Matches(podLabels))
	}
	if !spread {
		t.Error("anti-affinity does not spread the replicas over nodes")
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("rolling updates may take a replica down before its successor is ready")
	}
	if len(bd.services) != 1 || len(bd.pdbs) != 1 {
		t.Fatalf("%d Services and %d PodDisruptionBudgets, want 1 each", len(bd.services), len(bd.pdbs))
	}
	svc := bd.services[0]
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	c, _ := proxyContainer(t, &d.Spec.Template.Spec)
	for _, sp := range svc.Spec.Ports {
		ok := slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
			return (sp.TargetPort.Type == intstr.String && p.Name == sp.TargetPort.StrVal) || p.ContainerPort == sp.TargetPort.IntVal
		})
		if !ok || sp.TargetPort.String() == "admin" || sp.TargetPort.IntValue() == 9090 {
			t.Errorf("Service port %s targets %s: want a proxy port, never the admin port", sp.Name, sp.TargetPort.String())
		}
	}
	pdb := bd.pdbs[0]
	s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("PDB selector does not select the pods")
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("PDB minAvailable %v: want ≥ 1 and < replicas, so drains can proceed", pdb.Spec.MinAvailable)
	}
}

func checkSidecar(t *testing.T, bd *bundle, d *appsv1.Deployment) {
	t.Helper()
	spec := &d.Spec.Template.Spec
	proxy, native := proxyContainer(t, spec)
	if !native {
		t.Error("the sidecar example should use a native sidecar, so the proxy starts first and stops last")
	}
	if len(spec.Containers) == 0 {
		t.Fatal("no application container")
	}
	app := spec.Containers[0]
	var endpoint string
	for _, e := range app.Env {
		if e.Name == "OSS_ENDPOINT" {
			endpoint = e.Value
		}
	}
	if endpoint != "http://127.0.0.1:8080" {
		t.Errorf("the application points at %q, want http://127.0.0.1:8080", endpoint)
	}
	for _, cm := range bd.configMaps {
		for _, data := range cm.Data {
			if !strings.Contains(data, `address: "127.0.0.1:8080"`) {
				t.Error("the sidecar's listener is not 127.0.0.1:8080")
			}
		}
	}
	for _, p := range proxy.Ports {
		if p.ContainerPort == 8080 {
			t.Error("the sidecar's proxy port is declared: it listens on loopback only")
		}
	}
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
