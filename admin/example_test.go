package admin_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/ossproxy/ossproxy/admin"
	"github.com/ossproxy/ossproxy/credentials"
)

func Example() {
	configLoaded := new(admin.Flag)
	h, err := admin.New(admin.Options{Checks: []admin.Check{
		{Name: "config", Checker: configLoaded},
		{Name: "credentials", Checker: admin.CredentialsCheck(func() credentials.Stats {
			return credentials.Stats{Valid: true} // cache.Stats in ossproxy serve
		})},
	}})
	if err != nil {
		panic(err)
	}
	readyz := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		fmt.Print(rec.Code, "\n", rec.Body)
	}
	readyz()
	configLoaded.Set(true)
	readyz()
	h.SetDraining()
	readyz()
	// Output:
	// 503
	// [+]shutdown ok
	// [-]config failed: not ready
	// [+]credentials ok
	// readyz check failed
	// 200
	// [+]shutdown ok
	// [+]config ok
	// [+]credentials ok
	// readyz check passed
	// 503
	// [-]shutdown failed: shutting down
	// [+]config ok
	// [+]credentials ok
	// readyz check failed
}
