package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkReact is one POST /reactors/{id}/react of the card-masking reactor through
// the whole in-process service: HTTP, authentication, the invocation path, NATS, a
// warm instance and back. Run it with -cpu 2 and compare runs A/B on one machine.
func BenchmarkReact(b *testing.B) {
	e := start(b)
	_, rec := e.do(b, "POST", "/reactors", key, map[string]any{"name": "mask", "code": maskCode,
		"configuration": map[string]string{"SERVICE_API_KEY": "k"}, "runtime": map[string]any{"image": "node-bt", "warm_concurrency": 1}})
	url := e.url + "/reactors/" + rec["id"].(string) + "/react"
	body := []byte(`{"args":{"card_number":"4242424242424242"}}`)
	react := func() {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("BT-API-KEY", e.useKey)
		resp, err := e.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("react: %d", resp.StatusCode)
		}
	}
	react()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			react()
		}
	})
}
