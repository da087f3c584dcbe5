package main

import (
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/ossproxy/ossproxy/config"
)

// TestRestartSections: a change to any section of the configuration but
// the two a reload applies (auth, policy) is reported as needing a
// restart, so none, today's or a future one, is dropped in silence.
func TestRestartSections(t *testing.T) {
	applied := map[string]bool{"Auth": true, "Policy": true, "File": true}
	rnd := rand.New(rand.NewSource(1))
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			var running, next config.Config
			for range 10 { // a random value that differs from the zero one
				v, ok := quick.Value(f.Type, rnd)
				if !ok {
					t.Fatalf("cannot generate a %v", f.Type)
				}
				reflect.ValueOf(&next).Elem().Field(i).Set(v)
				if !reflect.DeepEqual(running, next) {
					break
				}
			}
			if reflect.DeepEqual(running, next) {
				t.Fatalf("no value of %v differs from the zero one", f.Type)
			}
			got := restartSections(&running, &next)
			if applied[f.Name] {
				if len(got) != 0 {
					t.Fatalf("a change to %s, which reload applies, reported as %v", f.Name, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("a change to %s reported as %v, want one section", f.Name, got)
			}
		})
	}
	if got := restartSections(&config.Config{}, &config.Config{}); got != nil {
		t.Fatalf("no change reported as %v", got)
	}
}
