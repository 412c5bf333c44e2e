package api_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/reactord/reactord/api"
)

// FuzzMergePatch: any JSON target and patch merge without panicking, and applying a
// merge patch twice changes nothing more (RFC 7386 patches are idempotent).
func FuzzMergePatch(f *testing.F) {
	f.Add(`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`)
	f.Add(`[1,2]`, `{"a":"b","c":null}`)
	f.Add(`{}`, `{"a":{"bb":{"ccc":null}}}`)
	f.Add(`{"name":"x","configuration":{"A":"1"}}`, `{"configuration":{"A":null,"B":"2"}}`)
	f.Fuzz(func(t *testing.T, target, patch string) {
		var tv, pv any
		if json.Unmarshal([]byte(target), &tv) != nil || json.Unmarshal([]byte(patch), &pv) != nil {
			return
		}
		once := api.MergePatch(tv, pv)
		twice := api.MergePatch(once, pv)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("not idempotent: %s + %s -> %v, then %v", target, patch, once, twice)
		}
		if _, err := json.Marshal(once); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}
