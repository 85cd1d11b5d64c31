package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meteragent/meteragent/storage"
)

func TestState(t *testing.T) {
	db := mustOpen(t)
	if _, ok, err := db.State("tibber/cursor"); ok || err != nil {
		t.Fatalf("State of a new key = _, %v, %v; want not found", ok, err)
	}
	val := []byte("2026-01-01T00:00:00Z")
	if err := db.SetState("tibber/cursor", val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // the caller's slice is not the stored value
	got, ok, err := db.State("tibber/cursor")
	if err != nil || !ok || string(got) != "2026-01-01T00:00:00Z" {
		t.Errorf("State = %q, %v, %v; want the value as set", got, ok, err)
	}
	got[0] = 'Y' // nor is the returned one
	if again, _, _ := db.State("tibber/cursor"); string(again) != "2026-01-01T00:00:00Z" {
		t.Errorf("State after modifying the returned slice = %q", again)
	}

	if err := db.SetState("empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := db.State("empty"); err != nil || !ok || len(v) != 0 {
		t.Errorf("State(empty) = %q, %v, %v; want found and empty", v, ok, err)
	}
	for _, key := range []string{"", strings.Repeat("k", storage.MaxKeyLen+1)} {
		if err := db.SetState(key, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("SetState(%d-byte key) = %v, want ErrInvalidKey", len(key), err)
		}
	}
}
