package fcmfake

import (
	"encoding/json"
	"net/http"
	"time"
)

// controlPrefix is where the control API lives. It lets a benchmark or a
// demo program the fake from another process (cmd/fcmfake) with the same
// knobs a test has in-process:
//
//	GET    /_fake/stats                 counters (see stats)
//	GET    /_fake/messages[?token=T]    recorded messages, {"items": [...]}
//	POST   /_fake/reset                 Reset: forget messages and counters
//	DELETE /_fake/failures              ClearFailures
//	POST   /_fake/tokens   {"failure": "UNREGISTERED", "tokens": ["t1"]}
//	                       ("failure": "" makes the tokens succeed again)
//	POST   /_fake/fail     {"next": 10, "failure": "UNAVAILABLE", "retry_after_seconds": 5}
//	POST   /_fake/latency  {"latency": "20ms"}
//
// The path cannot collide with FCM's, which all start with /v1/.
const controlPrefix = "/_fake/"

// stats is the body of GET /_fake/stats.
type stats struct {
	Requests          int `json:"requests"`
	Accepted          int `json:"accepted"`
	Tokens            int `json:"tokens"`
	Duplicates        int `json:"duplicates"`
	FailNextRemaining int `json:"fail_next_remaining"`
}

type tokensRequest struct {
	Failure ErrorCode `json:"failure"`
	Tokens  []string  `json:"tokens"`
}

type failRequest struct {
	Next              int       `json:"next"`
	Failure           ErrorCode `json:"failure"`
	RetryAfterSeconds int       `json:"retry_after_seconds"`
}

type latencyRequest struct {
	Latency string `json:"latency"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path[len(controlPrefix)-1:]
	switch route {
	case "GET /stats":
		total, tokens := s.store.counts()
		writeJSON(w, http.StatusOK, stats{
			Requests:          s.Requests(),
			Accepted:          total,
			Tokens:            tokens,
			Duplicates:        s.Duplicates(),
			FailNextRemaining: s.failNext.remaining(),
		})
	case "GET /messages":
		var msgs []Message
		if token := r.URL.Query().Get("token"); token != "" {
			msgs = s.MessagesFor(token)
		} else {
			msgs = s.Messages()
		}
		writeJSON(w, http.StatusOK, struct {
			Items []Message `json:"items"`
		}{msgs})
	case "POST /reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "DELETE /failures":
		s.ClearFailures()
		w.WriteHeader(http.StatusNoContent)
	case "POST /tokens":
		var req tokensRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Failure == "" {
			s.ClearTokens(req.Tokens...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		f, ok := failureFor(req.Failure, 0)
		if !ok {
			controlError(w, http.StatusBadRequest, "unknown failure "+string(req.Failure))
			return
		}
		s.FailTokens(f, req.Tokens...)
		w.WriteHeader(http.StatusNoContent)
	case "POST /fail":
		var req failRequest
		if !readJSON(w, r, &req) {
			return
		}
		f, ok := failureFor(req.Failure, time.Duration(req.RetryAfterSeconds)*time.Second)
		if !ok || req.Next <= 0 {
			controlError(w, http.StatusBadRequest, "want next > 0 and a known failure")
			return
		}
		s.FailNext(req.Next, f)
		w.WriteHeader(http.StatusNoContent)
	case "POST /latency":
		var req latencyRequest
		if !readJSON(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil || d < 0 {
			controlError(w, http.StatusBadRequest, "latency: want a duration such as 20ms")
			return
		}
		s.SetLatency(d)
		w.WriteHeader(http.StatusNoContent)
	default:
		controlError(w, http.StatusNotFound, "no control route "+route)
	}
}

// failureFor maps an FCM error code to the failure FCM sends for it.
func failureFor(code ErrorCode, retryAfter time.Duration) (*Failure, bool) {
	switch code {
	case CodeUnregistered:
		return Unregistered(), true
	case CodeInvalidArgument:
		return InvalidToken(), true
	case CodeSenderIDMismatch:
		return SenderIDMismatch(), true
	case CodeQuotaExceeded:
		return QuotaExceeded(retryAfter), true
	case CodeUnavailable:
		return Unavailable(retryAfter), true
	case CodeInternal:
		return Internal(), true
	case CodeThirdPartyAuthErr:
		return ThirdPartyAuthError(), true
	}
	return nil, false
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "bad body: "+err.Error())
		return false
	}
	return true
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
