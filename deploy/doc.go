// Package deploy holds no code: its tests check the deployment artefacts,
// the Dockerfile at the repository root and the Kubernetes manifests under
// deploy/kubernetes.
//
//	go test ./deploy/                  # manifests decoded strictly with k8s.io/api types, config loaded, static build
//	go test -short ./deploy/           # without the build
//	kubectl apply -k deploy/kubernetes/standalone
//
// The Kubernetes modules are imported by the tests only, so they are not
// linked into ossproxy.
package deploy
