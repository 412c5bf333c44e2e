package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
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

// BenchmarkFirstReact is the first POST /reactors/{id}/react of a reactor just created,
// through the whole in-process service, after the worker has had time to prepare its
// snapshot: the full-path cold start. Only the invocation is timed.
func BenchmarkFirstReact(b *testing.B) {
	e := start(b)
	body := []byte(`{"args":{"card_number":"4242424242424242"}}`)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, rec := e.do(b, "POST", "/reactors", key, map[string]any{"name": "mask", "code": fmt.Sprintf("%s\n// variant %d\n", maskCode, i),
			"configuration": map[string]string{"SERVICE_API_KEY": "k"}, "runtime": map[string]any{"image": "node-bt"}})
		url := e.url + "/reactors/" + rec["id"].(string) + "/react"
		time.Sleep(100 * time.Millisecond) // as benchreport: the worker prepares the snapshot and a spare instance
		b.StartTimer()
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
}
