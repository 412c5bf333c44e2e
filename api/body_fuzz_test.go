package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that decodes one, on a
// real service: the answer is never a 500 or a dropped connection, and every
// rejection is in the API's error format with its status.
func FuzzRequestBodies(f *testing.F) {
	e := start(f)
	tk := e.newApp(f, "private", "token:create", "token:use")
	_, created := e.do(f, "POST", "/reactors", key, map[string]any{"name": "echo", "code": `module.exports = async (req) => ({ raw: req.args })`})
	id := created["id"].(string)
	routes := []struct{ method, path, key, ct string }{
		{"POST", "/reactors", key, "application/json"},
		{"PUT", "/reactors/" + id, key, "application/json"},
		{"PATCH", "/reactors/" + id, key, "application/merge-patch+json"},
		{"POST", "/reactors/" + id + "/react", tk, "application/json"},
		{"POST", "/reactors/" + id + "/react-async", tk, "application/json"},
		{"POST", "/applications", key, "application/json"},
		{"POST", "/tokens", tk, "application/json"},
	}
	for i := range routes {
		f.Add(uint8(i), []byte(`{"name":"a","code":"module.exports = () => 1"}`))
		f.Add(uint8(i), []byte(`{"args":{"x":"{{ nope | json: '$.a' }}"}}`))
		f.Add(uint8(i), []byte(`{"type":"card","data":{"number":"4242424242424242"}}`))
		f.Add(uint8(i), []byte(`{"name":null,"runtime":{"image":"node22","dependencies":{"a":"^1"}}}`))
		f.Add(uint8(i), []byte(`[`))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		req, _ := http.NewRequest(rt.method, e.url+rt.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", rt.ct)
		req.Header.Set("BT-API-KEY", rt.key)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rt.method, rt.path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			var e struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
			}
			if json.Unmarshal(raw, &e) != nil || e.Status != resp.StatusCode || e.Title == "" {
				t.Fatalf("%s %s: %d not in the error format: %s", rt.method, rt.path, resp.StatusCode, raw)
			}
		}
	})
}
