package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/opensearch-project/opensearch-go/v2"
	"github.com/opensearch-project/opensearch-go/v2/opensearchapi"
)

// DefaultAlias is the alias searches read and the sync writes through.
const DefaultAlias = "couponpop-stores"

// NewClient returns an OpenSearch client for url (OPENSEARCH_URL).
//
// Retries are off: with one endpoint a retry only doubles the time a caller
// waits for a node that is down, and the API must answer 503 quickly. The
// connection pool is sized for the API's concurrency; Go's default of two
// idle connections per host would open and close a connection for most
// requests under load.
func NewClient(url string) (*opensearch.Client, error) {
	c, err := opensearch.NewClient(opensearch.Config{
		Addresses:    []string{url},
		DisableRetry: true,
		// No response timeout here: callers bound each request with their
		// context (3 s for a search), and a force merge takes minutes.
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			// Go asks for gzip by default and OpenSearch obliges: CPU on
			// both ends to shrink answers of a few hundred bytes (ids and
			// scores) that cross a local network.
			DisableCompression: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	return c, nil
}

// Ping checks that the cluster answers and is not red; readiness probes use
// it.
func Ping(ctx context.Context, c *opensearch.Client) error {
	var h struct {
		Status string `json:"status"`
	}
	if err := call(ctx, c, opensearchapi.ClusterHealthRequest{}, &h); err != nil {
		return err
	}
	if h.Status == "red" {
		return errors.New("opensearch: cluster health is red")
	}
	return nil
}

// apiError is a non-2xx answer from OpenSearch.
type apiError struct {
	Status int
	Type   string
	Reason string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("opensearch: %d %s: %s", e.Status, e.Type, e.Reason)
}

// isStatus reports whether err is an OpenSearch answer with that status.
func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// call runs req and decodes a 2xx JSON answer into out (nil: discard).
func call(ctx context.Context, c *opensearch.Client, req opensearchapi.Request, out any) error {
	resp, err := req.Do(ctx, c)
	if err != nil {
		return fmt.Errorf("opensearch: %w", err)
	}
	defer resp.Body.Close()
	if resp.IsError() {
		return decodeError(resp.StatusCode, resp.Body)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("opensearch: decode answer: %w", err)
	}
	return nil
}

func decodeError(status int, body io.Reader) error {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	ae := &apiError{Status: status}
	if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Type     string `json:"type"`
			Reason   string `json:"reason"`
			RootCaus []struct {
				Reason string `json:"reason"`
			} `json:"root_cause"`
		}
		if json.Unmarshal(e.Error, &obj) == nil {
			ae.Type, ae.Reason = obj.Type, obj.Reason
		} else {
			ae.Reason = string(e.Error) // "error": "some text"
		}
	} else {
		ae.Reason = string(bytes.TrimSpace(raw))
	}
	return ae
}

// jsonBody encodes v for a request body.
func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own maps and structs are encoded here
	}
	return bytes.NewReader(b)
}
