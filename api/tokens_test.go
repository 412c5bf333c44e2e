package api_test

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestTokensAPI(t *testing.T) {
	e := start(t)

	resp, created := e.do(t, "POST", "/tokens", key, map[string]any{
		"type": "card", "data": map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030, "cvc": "123"},
		"metadata": map[string]string{"customer": "c1"},
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id, _ := created["id"].(string)
	wantMasked := map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": 12.0, "expiration_year": 2030.0}
	if !reflect.DeepEqual(created["data"], wantMasked) || created["type"] != "card" || created["tenant_id"] == nil ||
		created["created_by"] == nil || created["created_at"] == nil || created["fingerprint"] == nil ||
		created["fingerprint_expression"] != "{{ data.number }}" || !reflect.DeepEqual(created["containers"], []any{"/pci/high/"}) ||
		!reflect.DeepEqual(created["metadata"], map[string]any{"customer": "c1"}) || created["mask"] == nil {
		t.Fatalf("created token: %v", created)
	}

	// The management application may reveal.
	resp, got := e.do(t, "GET", "/tokens/"+id, key, nil)
	if resp.StatusCode != http.StatusOK || !reflect.DeepEqual(got["data"],
		map[string]any{"number": "4242424242424242", "expiration_month": 12.0, "expiration_year": 2030.0, "cvc": "123"}) {
		t.Fatalf("get: %d %v", resp.StatusCode, got)
	}

	resp, _ = e.do(t, "POST", "/tokens", key, map[string]any{"id": id, "type": "token", "data": "x"})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("same id: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "DELETE", "/tokens/"+id, key, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	for _, m := range []string{"GET", "DELETE"} {
		resp, body := e.do(t, m, "/tokens/"+id, key, nil)
		if resp.StatusCode != http.StatusNotFound || body["title"] != "Not Found" {
			t.Errorf("%s after delete: %d %v", m, resp.StatusCode, body)
		}
	}

	// A token type without a mask shows no data on create.
	resp, plain := e.do(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "Sensitive Value"})
	if _, has := plain["data"]; resp.StatusCode != http.StatusCreated || has {
		t.Errorf("unmasked token: %d %v", resp.StatusCode, plain)
	}
	resp, masked := e.do(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "Sensitive Value", "mask": "{{ data | reveal_last: 4 }}"})
	if resp.StatusCode != http.StatusCreated || masked["data"] != "XXXXXXXXXXXalue" || masked["mask"] != "{{ data | reveal_last: 4 }}" {
		t.Errorf("masked token: %d %v", resp.StatusCode, masked)
	}
}

func TestTokenRejections(t *testing.T) {
	e := start(t)
	tests := []struct {
		name   string
		body   string
		ct     string
		apiKey string
		status int
		field  string // expected key of "errors"
	}{
		{name: "no key", body: `{"type": "token", "data": 1}`, apiKey: "-", status: 401},
		{name: "bad json", body: `{"type": `, status: 400},
		{name: "media type", body: `{}`, ct: "text/plain", status: 415},
		{name: "no type", body: `{"data": "x"}`, status: 400, field: "type"},
		{name: "unknown type", body: `{"type": "dna", "data": "x"}`, status: 400, field: "type"},
		{name: "no data", body: `{"type": "token"}`, status: 400, field: "data"},
		{name: "luhn", body: `{"type": "card_number", "data": "4242424242424241"}`, status: 400, field: "data"},
		{name: "card number", body: `{"type": "card", "data": {"number": "1"}}`, status: 400, field: "data.number"},
		{name: "aba", body: `{"type": "bank", "data": {"routing_number": "123456789", "account_number": "12345"}}`, status: 400, field: "data.routing_number"},
		{name: "ssn", body: `{"type": "social_security_number", "data": "12-34"}`, status: 400, field: "data"},
		{name: "metadata type", body: `{"type": "token", "data": "x", "metadata": {"k": 1}}`, status: 400, field: "metadata"},
		{name: "containers type", body: `{"type": "token", "data": "x", "containers": "/a/"}`, status: 400, field: "containers"},
		{name: "bad mask", body: `{"type": "token", "data": "x", "mask": "{{ data | nope }}"}`, status: 400, field: "mask"},
		{name: "expired", body: `{"type": "token", "data": "x", "expires_at": "2001-01-01T00:00:00Z"}`, status: 400, field: "expires_at"},
		{name: "bad id", body: `{"id": "a/b", "type": "token", "data": "x"}`, status: 400, field: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.url+"/tokens", bytes.NewReader([]byte(tt.body)))
			ct := tt.ct
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			if tt.apiKey == "" {
				req.Header.Set("BT-API-KEY", key)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.field != "" && !strings.Contains(string(raw), `"errors":{"`+tt.field+`":[`) {
				t.Errorf("want errors.%s: %s", tt.field, raw)
			}
		})
	}
}
