package catalog

import (
	"strings"
	"testing"
)

func mustLoad(t testing.TB, s string) *Catalog {
	t.Helper()
	c, err := Load(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}
