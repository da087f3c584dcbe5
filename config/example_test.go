package config_test

import (
	"fmt"

	"github.com/ossproxy/ossproxy/config"
)

// photosYAML is the configuration of the examples: one listener, an
// access key whose secret is the environment variable APP_SECRET, read
// access to bucket photos with it, and upstream credentials from the
// environment.
const photosYAML = `
listeners:
  - address: "127.0.0.1:8080"
auth:
  access_keys:
    - id: app
      secret: ${APP_SECRET}
policy:
  rules:
    - access_key_ids: [app]
      buckets: [photos]
      actions: [read]
buckets:
  - name: photos
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
credentials:
  source: env
`

func ExampleParse() {
	getenv := func(k string) string { return map[string]string{"APP_SECRET": "s3cr3t"}[k] }
	cfg, err := config.Parse("ossproxy.yaml", []byte(photosYAML), config.Options{Getenv: getenv})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Listeners[0].Address, cfg.Proxy.Buckets[0].Name, cfg.Auth.AccessKeys[0].Secret)

	_, err = config.Parse("ossproxy.yaml", []byte(photosYAML+"  role_arn: acs:ram::1:role/r\n"), config.Options{Getenv: getenv})
	fmt.Println(err)
	// Output:
	// 127.0.0.1:8080 photos [REDACTED]
	// ossproxy.yaml:19: role_arn is not used by credentials source env
}
