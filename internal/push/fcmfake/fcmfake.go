// Package fcmfake is a local HTTP server that speaks the Firebase Cloud
// Messaging HTTP v1 send API, so that tests and benchmarks can drive the real
// firebase.google.com/go/v4 messaging client without Google:
//
//	srv := fcmfake.Start(t, fcmfake.WithProject("p"))
//	app, _ := firebase.NewApp(ctx, &firebase.Config{ProjectID: "p"},
//		option.WithEndpoint(srv.Endpoint()), option.WithoutAuthentication())
//	client, _ := app.Messaging(ctx)
//
// It serves POST /v1/projects/{project}/messages:send, records every accepted
// message, and answers with FCM's own success and error bodies, so the SDK's
// predicates (messaging.IsUnregistered, errorutils.IsUnavailable, ...) and
// errorutils.HTTPResponse behave as they do against FCM. Failures are
// programmed per token (Unregister, MarkInvalid, MismatchSender, FailTokens),
// for the next N requests (FailNext), or by a Hook; SetLatency slows every
// answer down.
//
// # What the SDK does by itself (firebase.google.com/go/v4 v4.19.0)
//
// A worker that retries must know what already happened inside one call:
//
//   - Send posts one request. SendEach and SendEachForMulticast post one
//     request per message, up to 50 at a time, and never fail as a whole for
//     a per-message error: each SendResponse carries its own error. (SendAll
//     and SendMulticast used FCM's batch endpoint, which Google shut down;
//     the fake does not serve it.)
//   - Every request goes through the SDK's retrying HTTP client, which for
//     messaging retries network errors and HTTP 503 only, at most 4 times
//     (5 attempts). The wait before retry k (k = 0..3) is 2^k*0.5 s truncated
//     to whole seconds (0, 1, 2, 4 s), or the response's Retry-After when that
//     is longer. If the wait would exceed 2 minutes, it does not retry at all
//     and returns the 503 at once. 429, 500 and every 4xx come back on the
//     first answer, Retry-After untouched.
//   - So a 503 that reaches the caller has already been retried, for up to
//     ~7 s plus server-requested waits; a 429 or 500 has not.
//   - A refused connection counts as a network error, so with FCM (or this
//     fake) down a Send takes those ~7 s before it returns an error for
//     which errorutils.IsUnavailable holds.
//   - If the context ends while a request is in flight or during a wait, the
//     call returns the bare ctx.Err() (context.DeadlineExceeded or
//     context.Canceled), not a Firebase error, so none of the SDK predicates
//     match it: treat it as a timeout.
//   - The error returned is an unexported *internal.FirebaseError. The
//     predicates (messaging.IsXxx, errorutils.IsXxx) and
//     errorutils.HTTPResponse use a plain type assertion, not errors.As:
//     classify the error the SDK returned before wrapping it.
//   - errorutils.HTTPResponse(err) returns a buffered copy of the HTTP
//     response (nil for transport errors): StatusCode is the HTTP status and
//     Header.Get("Retry-After") the server's wait, in seconds.
package fcmfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// maxBody bounds what one request may send. FCM's own limit is on the
// payload (4 KiB of data); this only keeps a broken client from making the
// fake buffer megabytes.
const maxBody = 1 << 20

// maxDataBytes is FCM's limit on a message's data payload, keys and values
// together.
const maxDataBytes = 4096

// dryRunName is the name FCM returns for a validate_only send.
const dryRunName = "fake_message_id"

// Hook decides the answer to one send that passed validation, before the
// per-token rules are applied. It returns nil to let the send go on, or the
// failure to answer with. Hooks run concurrently, one call per request, and
// must not modify m.
type Hook func(m *Message) *Failure

// Option configures a Server.
type Option func(*Server)

// WithProject makes the server answer only sends for this project id, as
// FCM answers only for the project of the credentials; other projects get
// 403 PERMISSION_DENIED. Without it any project is accepted.
func WithProject(id string) Option {
	return func(s *Server) { s.project = id }
}

// WithMessageLimit keeps at most n accepted messages in full (the first n);
// counts go on past it. Long benchmarks use it to bound memory. n <= 0 keeps
// every message, which is the default.
func WithMessageLimit(n int) Option {
	return func(s *Server) { s.store = newStore(n) }
}

// Server is a fake FCM HTTP v1 endpoint. It is an http.Handler; all its
// methods are safe for concurrent use, including while requests are served.
type Server struct {
	project string
	url     string // base URL when started by Start
	store   *store
	idBase  string // makes message ids unique across fake restarts

	requests atomic.Int64
	seq      atomic.Uint64
	latency  atomic.Int64 // time.Duration

	// rulesMu guards the per-token failures and the hook. Reads take the
	// read lock, so concurrent sends do not serialise on it.
	rulesMu  sync.RWMutex
	byToken  map[string]*Failure
	hook     Hook
	failNext failQueue
}

// New returns a fake FCM server to mount as an http.Handler, for example in
// a standalone binary (cmd/fcmfake) or under httptest.
func New(opts ...Option) *Server {
	s := &Server{
		store:   newStore(0),
		idBase:  strconv.FormatInt(time.Now().UnixMilli(), 10),
		byToken: make(map[string]*Failure),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start serves a new fake on a loopback httptest server that is closed when
// the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// URL is the base URL of a server made by Start ("http://127.0.0.1:port"),
// empty for one made by New.
func (s *Server) URL() string { return s.url }

// Endpoint is the URL to hand to option.WithEndpoint or FCM_ENDPOINT:
// URL() + "/v1". The SDK appends /projects/{id}/messages:send to it.
func (s *Server) Endpoint() string { return s.url + "/v1" }

// Project is the project id the server insists on, empty when any goes.
func (s *Server) Project() string { return s.project }

// Messages returns the accepted messages in the order they were accepted
// (up to the WithMessageLimit).
func (s *Server) Messages() []Message { return s.store.messages(nil) }

// MessagesFor returns the accepted messages sent to token.
func (s *Server) MessagesFor(token string) []Message {
	return s.store.messages(func(m *Message) bool { return m.Token == token })
}

// Count is the number of accepted (delivered) messages.
func (s *Server) Count() int {
	n, _ := s.store.counts()
	return n
}

// CountFor is the number of accepted messages sent to token; above one means
// the device got the push more than once.
func (s *Server) CountFor(token string) int { return s.store.countFor(token) }

// CountData is the number of recorded messages whose data payload has key
// set to value, e.g. CountData("trace_id", id) to find duplicate deliveries
// of one logical push. It sees only messages kept under WithMessageLimit.
func (s *Server) CountData(key, value string) int { return s.store.countData(key, value) }

// Duplicates is the number of accepted messages that went to a token which
// had already been sent to (the sum over tokens of count-1).
func (s *Server) Duplicates() int { return s.store.duplicates() }

// Requests is the number of requests that reached the send path, whatever
// the answer. Comparing it with Count shows how often a client retried.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Reset forgets the recorded messages and the counters. Programmed failures,
// the hook and the latency stay; ClearFailures removes those.
func (s *Server) Reset() {
	s.store.reset()
	s.requests.Store(0)
}

// ClearFailures removes every programmed failure, the hook and the latency.
func (s *Server) ClearFailures() {
	s.rulesMu.Lock()
	s.byToken = make(map[string]*Failure)
	s.hook = nil
	s.rulesMu.Unlock()
	s.failNext.clear()
	s.latency.Store(0)
}

// Unregister makes sends to these tokens fail with 404 UNREGISTERED, as for
// an app that was uninstalled.
func (s *Server) Unregister(tokens ...string) { s.FailTokens(Unregistered(), tokens...) }

// MarkInvalid makes sends to these tokens fail with 400 INVALID_ARGUMENT,
// as for a malformed token.
func (s *Server) MarkInvalid(tokens ...string) { s.FailTokens(InvalidToken(), tokens...) }

// MismatchSender makes sends to these tokens fail with 403
// SENDER_ID_MISMATCH, as for tokens of another Firebase project.
func (s *Server) MismatchSender(tokens ...string) { s.FailTokens(SenderIDMismatch(), tokens...) }

// FailTokens makes every send to these tokens fail with f until ClearTokens
// or ClearFailures.
func (s *Server) FailTokens(f *Failure, tokens ...string) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	for _, t := range tokens {
		s.byToken[t] = f
	}
}

// ClearTokens makes sends to these tokens succeed again.
func (s *Server) ClearTokens(tokens ...string) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	for _, t := range tokens {
		delete(s.byToken, t)
	}
}

// FailNext makes the next n valid sends fail with f, whatever their token,
// as during an FCM outage (Unavailable) or throttling (QuotaExceeded).
// Calls queue up: FailNext(2, a) then FailNext(1, b) fails two sends with a,
// then one with b.
func (s *Server) FailNext(n int, f *Failure) { s.failNext.push(n, f) }

// SetHook installs h for arbitrary rules (nil removes it); see Hook.
func (s *Server) SetHook(h Hook) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	s.hook = h
}

// SetLatency delays every answer by d (0 for none), to model FCM's round
// trip in benchmarks and to test client timeouts. A client that gives up
// early stops the wait.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// ServeHTTP answers FCM v1 sends and, under /_fake/, the control API that
// cmd/fcmfake exposes to other processes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	project, ok := sendPath(r.URL.Path)
	if !ok {
		(&Failure{
			HTTPStatus: http.StatusNotFound,
			Status:     "NOT_FOUND",
			Message:    "The requested URL " + r.URL.Path + " was not found on this server.",
		}).write(w)
		return
	}
	s.requests.Add(1)
	// Read the body before any latency: net/http notices that the client
	// went away (and cancels r.Context) only once the body is consumed, and
	// a sleeping handler would otherwise hold httptest's Close for the whole
	// latency.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client is gone; there is no one to answer
	}
	if d := time.Duration(s.latency.Load()); d > 0 && !sleep(r, d) {
		return
	}
	m, f := s.send(r.Method, project, body)
	if f != nil {
		f.write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(sendResponse{Name: m.Name}) //nolint:errcheck // the client went away

}

// sleep waits d or until the client gives up; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// sendPath extracts {project} from /v1/projects/{project}/messages:send.
func sendPath(path string) (project string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		return "", false
	}
	project, ok = strings.CutSuffix(rest, "/messages:send")
	if !ok || project == "" || strings.Contains(project, "/") {
		return "", false
	}
	return project, true
}

// send runs one send through validation and the programmed rules, in the
// order FCM's own checks would fire: request shape first, then outages,
// then what depends on the token. It returns the accepted (and, unless a dry
// run, recorded) message, or the failure to answer with.
func (s *Server) send(method, project string, body []byte) (Message, *Failure) {
	if method != http.MethodPost {
		// FCM has no other method on this path; 405 says so plainly.
		return Message{}, &Failure{
			HTTPStatus: http.StatusMethodNotAllowed,
			Status:     "UNIMPLEMENTED",
			Message:    "Method " + method + " is not allowed; messages:send takes POST.",
		}
	}
	if s.project != "" && project != s.project {
		return Message{}, &Failure{
			HTTPStatus: http.StatusForbidden,
			Status:     "PERMISSION_DENIED",
			Message:    fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s' (or it may not exist).", project),
		}
	}
	m, f := decode(body)
	if f != nil {
		return Message{}, f
	}
	m.Project = project

	if f := s.failNext.pop(); f != nil {
		return Message{}, f
	}
	s.rulesMu.RLock()
	hook := s.hook
	tokenFailure := s.byToken[m.Token]
	s.rulesMu.RUnlock()
	if hook != nil {
		if f := hook(&m); f != nil {
			return Message{}, f
		}
	}
	if m.Token != "" && tokenFailure != nil {
		return Message{}, tokenFailure
	}

	if m.ValidateOnly {
		m.Name = "projects/" + project + "/messages/" + dryRunName
	} else {
		m.Name = "projects/" + project + "/messages/0:" + s.idBase + "%" + strconv.FormatUint(s.seq.Add(1), 10)
		m.ReceivedAt = time.Now()
		s.store.add(m)
	}
	return m, nil
}

// sendResponse is FCM's answer to an accepted send.
type sendResponse struct {
	Name string `json:"name"`
}

// sendRequest is the body of messages:send. Both the proto field names and
// their lowerCamelCase JSON names are accepted, as FCM's proto-JSON parser
// does; anything else is an unknown field and refused.
type sendRequest struct {
	Message           *wireMessage `json:"message"`
	ValidateOnly      bool         `json:"validate_only"`
	ValidateOnlyCamel bool         `json:"validateOnly"`
}

type wireMessage struct {
	Name            string          `json:"name"`
	Token           string          `json:"token"`
	Topic           string          `json:"topic"`
	Condition       string          `json:"condition"`
	Data            json.RawMessage `json:"data"`
	Notification    *Notification   `json:"notification"`
	Android         json.RawMessage `json:"android"`
	Webpush         json.RawMessage `json:"webpush"`
	APNS            json.RawMessage `json:"apns"`
	FCMOptions      json.RawMessage `json:"fcm_options"`
	FCMOptionsCamel json.RawMessage `json:"fcmOptions"`
}

// decode parses and validates a send body the way FCM does where that is
// cheap: well-formed JSON with known fields, exactly one target, a data map
// of strings within FCM's size limit and without reserved keys.
func decode(raw []byte) (Message, *Failure) {
	if len(raw) > maxBody {
		return Message{}, badJSON("", "Request payload size exceeds the limit.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var req sendRequest
	if err := dec.Decode(&req); err != nil {
		return Message{}, badJSON("", "Invalid JSON payload received. "+err.Error())
	}
	if dec.More() {
		return Message{}, badJSON("", "Invalid JSON payload received. Unexpected token after the request object.")
	}
	wm := req.Message
	if wm == nil {
		return Message{}, InvalidArgument("message", "Recipient of the message is not set.")
	}

	var targets []string
	for _, t := range []struct{ name, v string }{{"token", wm.Token}, {"topic", wm.Topic}, {"condition", wm.Condition}} {
		if t.v != "" {
			targets = append(targets, t.name)
		}
	}
	switch {
	case len(targets) == 0:
		return Message{}, InvalidArgument("message", "Recipient of the message is not set.")
	case len(targets) > 1:
		return Message{}, badJSON("message", fmt.Sprintf(
			"Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '%s'", targets[1]))
	}

	data, f := decodeData(wm.Data)
	if f != nil {
		return Message{}, f
	}
	fcmOptions := wm.FCMOptions
	if fcmOptions == nil {
		fcmOptions = wm.FCMOptionsCamel
	}
	return Message{
		Token:        wm.Token,
		Topic:        wm.Topic,
		Condition:    wm.Condition,
		Notification: wm.Notification,
		Data:         data,
		Android:      wm.Android,
		APNS:         wm.APNS,
		Webpush:      wm.Webpush,
		FCMOptions:   fcmOptions,
		ValidateOnly: req.ValidateOnly || req.ValidateOnlyCamel,
	}, nil
}

// decodeData parses message.data, which FCM types as map<string, string>.
func decodeData(raw json.RawMessage) (map[string]string, *Failure) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var data map[string]string
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, dataTypeFailure(raw, err)
	}
	size := 0
	for k, v := range data {
		if k == "from" || k == "message_type" || strings.HasPrefix(k, "google") || strings.HasPrefix(k, "gcm") {
			return nil, InvalidArgument("message.data", fmt.Sprintf("Invalid data payload key: %s", k))
		}
		size += len(k) + len(v)
	}
	if size > maxDataBytes {
		// What FCM sent for an oversized payload when last observed: a bare
		// 400 with no details.
		return nil, &Failure{
			HTTPStatus: http.StatusBadRequest,
			Status:     "INVALID_ARGUMENT",
			Message:    "Request contains an invalid argument.",
		}
	}
	return data, nil
}

// dataTypeFailure builds FCM's message for a data map that is not all
// strings, e.g. "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
// walking the map again only on this rare path to find the entry's index.
func dataTypeFailure(raw json.RawMessage, err error) *Failure {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, terr := dec.Token(); terr != nil || tok != json.Delim('{') {
		return badJSON("message.data", "Invalid value at 'message.data' (type.googleapis.com/google.firebase.fcm.v1.Message.DataEntry), "+string(raw))
	}
	for i := 0; dec.More(); i++ {
		if _, terr := dec.Token(); terr != nil {
			break
		}
		var v json.RawMessage
		if derr := dec.Decode(&v); derr != nil {
			break
		}
		if len(v) == 0 || v[0] != '"' {
			field := fmt.Sprintf("message.data[%d].value", i)
			return badJSON(field, fmt.Sprintf("Invalid value at '%s' (TYPE_STRING), %s", field, v))
		}
	}
	return badJSON("message.data", "Invalid JSON payload received. "+err.Error())
}
