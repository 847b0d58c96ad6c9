package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestKeysResealCoversStaff: `enlace keys reseal` seals staff records again
// too, so that after the old key is retired (its material kept only as the
// hashing key) staff are still listed and the audit log still verifies.
func TestKeysResealCoversStaff(t *testing.T) {
	const newKey = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			old := env["ENLACE_SECRET_KEY"]
			mustEnlace(t, env, "staff", "add", "maria", "--role", "volunteer", "--languages", "es,ht")

			env["ENLACE_SECRET_KEY"] = newKey + "," + old
			out := mustEnlace(t, env, "keys", "reseal")
			var rep struct {
				Before map[string]int `json:"before"`
				Staff  *struct {
					Before     map[string]int `json:"before"`
					Resealed   int            `json:"resealed"`
					Unreadable int            `json:"unreadable"`
				} `json:"staff"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("keys reseal printed %q: %v", out, err)
			}
			// The account and the audit entry of its creation.
			if rep.Staff == nil || rep.Staff.Resealed < 2 || rep.Staff.Resealed != rep.Staff.Before["k1"] || rep.Staff.Unreadable != 0 {
				t.Fatalf("keys reseal: staff %+v, want every staff record sealed again (%s)", rep.Staff, out)
			}
			if rep.Before["k1"] < rep.Staff.Resealed {
				t.Errorf("keys reseal: before %v does not count the staff records", rep.Before)
			}

			env["ENLACE_SECRET_KEY"] = newKey + ",hash:" + strings.TrimPrefix(old, "k1:")
			if out := mustEnlace(t, env, "staff", "list"); !strings.Contains(out, "maria") || !strings.Contains(out, "es,ht") {
				t.Fatalf("staff list after retiring the old key:\n%s", out)
			}
			if out := mustEnlace(t, env, "audit", "verify"); !strings.Contains(out, "audit log intact") {
				t.Fatalf("audit verify after retiring the old key: %s", out)
			}
		})
	}
}
