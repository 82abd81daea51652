package fcmfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

const project = "couponpop-test"

// newClient points the real SDK at srv exactly as the push worker does when
// FCM_ENDPOINT is set.
func newClient(t testing.TB, srv *fcmfake.Server) *messaging.Client {
	t.Helper()
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project},
		option.WithEndpoint(srv.Endpoint()), option.WithoutAuthentication())
	require.NoError(t, err, "firebase.NewApp")
	client, err := app.Messaging(ctx)
	require.NoError(t, err, "app.Messaging")
	return client
}

func TestSendIsAcceptedAndRecorded(t *testing.T) {
	srv := fcmfake.Start(t, fcmfake.WithProject(project))
	client := newClient(t, srv)

	ttl := time.Hour
	id, err := client.Send(context.Background(), &messaging.Message{
		Token:        "tok-1",
		Notification: &messaging.Notification{Title: "50% off", Body: "Cafe Mora, 120 m"},
		Data:         map[string]string{"kind": "EVENT_NEW", "event_id": "42"},
		Android:      &messaging.AndroidConfig{Priority: "high", TTL: &ttl},
		APNS:         &messaging.APNSConfig{Payload: &messaging.APNSPayload{Aps: &messaging.Aps{Badge: new(1)}}},
	})
	require.NoError(t, err, "Send")
	assert.True(t, strings.HasPrefix(id, "projects/"+project+"/messages/"), "message id = %q, want prefix projects/%s/messages/", id, project)

	msgs := srv.Messages()
	require.Len(t, msgs, 1, "recorded messages")
	got := msgs[0]
	assert.Equal(t, id, got.Name, "recorded name, want the id the SDK returned")
	assert.Equal(t, project, got.Project)
	assert.Equal(t, "tok-1", got.Token)
	assert.Equal(t, &fcmfake.Notification{Title: "50% off", Body: "Cafe Mora, 120 m"}, got.Notification)
	assert.Equal(t, map[string]string{"kind": "EVENT_NEW", "event_id": "42"}, got.Data)
	assert.JSONEq(t, `{"priority":"high","ttl":"3600s"}`, string(got.Android), "android block as sent")
	assert.JSONEq(t, `{"payload":{"aps":{"badge":1}}}`, string(got.APNS), "apns block as sent")
	assert.False(t, got.ReceivedAt.IsZero(), "ReceivedAt is set")
	assert.Equal(t, 1, srv.Count(), "Count")
	assert.Equal(t, 1, srv.CountFor("tok-1"), "CountFor(tok-1)")
	assert.Equal(t, 0, srv.CountFor("tok-2"), "CountFor(tok-2)")
	assert.Equal(t, 1, srv.CountData("kind", "EVENT_NEW"), "CountData(kind)")
	assert.Equal(t, 1, srv.Requests(), "Requests")
}

func TestSendToTopicAndCondition(t *testing.T) {
	srv := fcmfake.Start(t)
	client := newClient(t, srv)
	ctx := context.Background()

	_, err := client.Send(ctx, &messaging.Message{Topic: "/topics/store-7"})
	require.NoError(t, err, "Send to topic")
	_, err = client.Send(ctx, &messaging.Message{Condition: "'a' in topics"})
	require.NoError(t, err, "Send to condition")

	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	// The SDK strips the /topics/ prefix before sending.
	assert.Equal(t, "store-7", msgs[0].Topic)
	assert.Equal(t, "'a' in topics", msgs[1].Condition)
}

func TestSendEachReportsPerMessageOutcome(t *testing.T) {
	srv := fcmfake.Start(t, fcmfake.WithProject(project))
	srv.Unregister("gone")
	client := newClient(t, srv)

	resp, err := client.SendEach(context.Background(), []*messaging.Message{
		{Token: "a", Data: map[string]string{"trace_id": "t1"}},
		{Token: "gone", Data: map[string]string{"trace_id": "t1"}},
		{Token: "b", Data: map[string]string{"trace_id": "t1"}},
	})
	require.NoError(t, err, "SendEach fails only as a whole, never for one message")
	assert.Equal(t, 2, resp.SuccessCount, "SuccessCount")
	assert.Equal(t, 1, resp.FailureCount, "FailureCount")
	require.Len(t, resp.Responses, 3)
	for i, r := range resp.Responses {
		if i == 1 {
			assert.False(t, r.Success, "response %d: Success", i)
			assert.True(t, messaging.IsUnregistered(r.Error), "response %d: IsUnregistered(%v) = false, want true", i, r.Error)
			continue
		}
		assert.True(t, r.Success, "response %d: Success, error %v", i, r.Error)
		assert.NotEmpty(t, r.MessageID, "response %d: MessageID", i)
	}
	assert.Equal(t, 2, srv.Count(), "accepted")
	assert.Equal(t, 0, srv.CountFor("gone"), "accepted for the unregistered token")
	assert.Equal(t, 2, srv.CountData("trace_id", "t1"), "CountData(trace_id)")
}

func TestSendEachForMulticastConcurrently(t *testing.T) {
	srv := fcmfake.Start(t)
	client := newClient(t, srv)

	const n = 300 // the SDK sends these 50 at a time
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok-%03d", i)
	}
	resp, err := client.SendEachForMulticast(context.Background(), &messaging.MulticastMessage{
		Tokens: tokens,
		Data:   map[string]string{"kind": "COUPON_EXPIRING"},
	})
	require.NoError(t, err)
	assert.Equal(t, n, resp.SuccessCount, "SuccessCount")
	assert.Equal(t, n, srv.Count(), "Count")
	assert.Equal(t, n, srv.Requests(), "one POST per token")
	assert.Equal(t, 0, srv.Duplicates(), "Duplicates")
	ids := make(map[string]bool, n)
	for _, r := range resp.Responses {
		assert.False(t, ids[r.MessageID], "message id %q handed out twice", r.MessageID)
		ids[r.MessageID] = true
	}
	for _, tok := range tokens {
		if got := srv.CountFor(tok); got != 1 {
			t.Errorf("CountFor(%q) = %d, want 1", tok, got)
		}
	}

	_, err = client.Send(context.Background(), &messaging.Message{Token: tokens[0]})
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Duplicates(), "Duplicates after a second send to one token")
}

// TestErrorsAreClassifiedBySDK checks each failure the worker must tell
// apart, through the SDK's own predicates and errorutils.HTTPResponse.
//
// The SDK retries 503 by itself (see the package doc). The 503 cases stay
// fast and deterministic by leaning on that policy: a Retry-After above the
// SDK's 2-minute cap makes it return at once, and a single 503 without
// Retry-After is retried immediately (the first retry waits 0 s).
func TestErrorsAreClassifiedBySDK(t *testing.T) {
	tests := []struct {
		name           string
		program        func(*fcmfake.Server)
		is             func(error) bool
		isName         string
		wantStatus     int
		wantRetryAfter string
		wantRequests   int // what the SDK's own retries add up to
	}{
		{
			name:         "unregistered token",
			program:      func(s *fcmfake.Server) { s.Unregister("tok") },
			is:           messaging.IsUnregistered,
			isName:       "messaging.IsUnregistered",
			wantStatus:   http.StatusNotFound,
			wantRequests: 1,
		},
		{
			name:         "invalid token",
			program:      func(s *fcmfake.Server) { s.MarkInvalid("tok") },
			is:           messaging.IsInvalidArgument,
			isName:       "messaging.IsInvalidArgument",
			wantStatus:   http.StatusBadRequest,
			wantRequests: 1,
		},
		{
			name:         "sender id mismatch",
			program:      func(s *fcmfake.Server) { s.MismatchSender("tok") },
			is:           messaging.IsSenderIDMismatch,
			isName:       "messaging.IsSenderIDMismatch",
			wantStatus:   http.StatusForbidden,
			wantRequests: 1,
		},
		{
			name:           "quota exceeded is not retried by the SDK",
			program:        func(s *fcmfake.Server) { s.FailNext(1, fcmfake.QuotaExceeded(30*time.Second)) },
			is:             messaging.IsQuotaExceeded,
			isName:         "messaging.IsQuotaExceeded",
			wantStatus:     http.StatusTooManyRequests,
			wantRetryAfter: "30",
			wantRequests:   1,
		},
		{
			name:         "internal is not retried by the SDK",
			program:      func(s *fcmfake.Server) { s.FailNext(1, fcmfake.Internal()) },
			is:           messaging.IsInternal,
			isName:       "messaging.IsInternal",
			wantStatus:   http.StatusInternalServerError,
			wantRequests: 1,
		},
		{
			name:           "unavailable beyond the SDK's retry cap comes back at once",
			program:        func(s *fcmfake.Server) { s.FailNext(5, fcmfake.Unavailable(3*time.Minute)) },
			is:             messaging.IsUnavailable,
			isName:         "messaging.IsUnavailable",
			wantStatus:     http.StatusServiceUnavailable,
			wantRetryAfter: "180",
			wantRequests:   1,
		},
		{
			name:         "third party auth error",
			program:      func(s *fcmfake.Server) { s.FailTokens(fcmfake.ThirdPartyAuthError(), "tok") },
			is:           messaging.IsThirdPartyAuthError,
			isName:       "messaging.IsThirdPartyAuthError",
			wantStatus:   http.StatusUnauthorized,
			wantRequests: 1,
		},
		{
			name: "hook",
			program: func(s *fcmfake.Server) {
				s.SetHook(func(m *fcmfake.Message) *fcmfake.Failure {
					if m.Data["kind"] == "EVENT_NEW" {
						return fcmfake.InvalidArgument("message.data", "kind refused by the test")
					}
					return nil
				})
			},
			is:           messaging.IsInvalidArgument,
			isName:       "messaging.IsInvalidArgument",
			wantStatus:   http.StatusBadRequest,
			wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fcmfake.Start(t, fcmfake.WithProject(project))
			tt.program(srv)
			client := newClient(t, srv)

			id, err := client.Send(context.Background(), &messaging.Message{
				Token: "tok",
				Data:  map[string]string{"kind": "EVENT_NEW"},
			})
			require.Error(t, err, "Send returned id %q, want an error", id)
			assert.True(t, tt.is(err), "%s(%v) = false, want true", tt.isName, err)
			resp := errorutils.HTTPResponse(err)
			require.NotNil(t, resp, "errorutils.HTTPResponse(%v) = nil, want the HTTP response", err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, "HTTP status")
			assert.Equal(t, tt.wantRetryAfter, resp.Header.Get("Retry-After"), "Retry-After")
			assert.Equal(t, tt.wantRequests, srv.Requests(), "requests the SDK made")
			assert.Equal(t, 0, srv.Count(), "accepted messages")
		})
	}
}

// TestSDKRetriesUnavailableItself pins down the SDK behaviour the worker's
// retry policy builds on: one 503 is retried inside Send, so the caller sees
// success and FCM saw two requests.
func TestSDKRetriesUnavailableItself(t *testing.T) {
	srv := fcmfake.Start(t)
	srv.FailNext(1, fcmfake.Unavailable(0))
	client := newClient(t, srv)

	_, err := client.Send(context.Background(), &messaging.Message{Token: "tok"})
	require.NoError(t, err, "Send after one 503")
	assert.Equal(t, 2, srv.Requests(), "requests: the 503 and the SDK's own retry")
	assert.Equal(t, 1, srv.Count(), "accepted")
}

func TestFailNextQueuesInOrder(t *testing.T) {
	srv := fcmfake.Start(t)
	srv.FailNext(2, fcmfake.Internal())
	srv.FailNext(1, fcmfake.QuotaExceeded(time.Second))
	client := newClient(t, srv)
	ctx := context.Background()

	send := func() error {
		_, err := client.Send(ctx, &messaging.Message{Token: "tok"})
		return err
	}
	for i := range 2 {
		err := send()
		assert.True(t, messaging.IsInternal(err), "send %d: IsInternal(%v) = false, want true", i, err)
	}
	err := send()
	assert.True(t, messaging.IsQuotaExceeded(err), "send 2: IsQuotaExceeded(%v) = false, want true", err)
	require.NoError(t, send(), "send 3, after the queue drained")
	assert.Equal(t, 1, srv.Count())
}

func TestDryRunIsAnsweredButNotRecorded(t *testing.T) {
	srv := fcmfake.Start(t)
	client := newClient(t, srv)

	id, err := client.SendDryRun(context.Background(), &messaging.Message{Token: "tok"})
	require.NoError(t, err)
	assert.Equal(t, "projects/"+project+"/messages/fake_message_id", id, "dry-run id, as FCM answers")
	assert.Equal(t, 0, srv.Count(), "accepted")
}

func TestLatency(t *testing.T) {
	srv := fcmfake.Start(t)
	srv.SetLatency(50 * time.Millisecond)
	client := newClient(t, srv)

	start := time.Now()
	_, err := client.Send(context.Background(), &messaging.Message{Token: "tok"})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "Send took less than the latency")

	srv.ClearFailures()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	srv.SetLatency(5 * time.Second)
	start = time.Now()
	_, err = client.Send(ctx, &messaging.Message{Token: "tok"})
	require.Error(t, err, "Send under a 20ms deadline against a 5s latency")
	// The SDK hands back the bare context error, which none of its
	// predicates recognise; the worker must treat it as a timeout itself.
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, messaging.IsUnavailable(err), "IsUnavailable(%v) = true, want false", err)
	assert.Less(t, time.Since(start), time.Second, "Send outlived its deadline")
	assert.Equal(t, 1, srv.Count(), "the timed-out send was not recorded")
}

func TestResetAndClear(t *testing.T) {
	srv := fcmfake.Start(t)
	srv.Unregister("gone")
	client := newClient(t, srv)
	ctx := context.Background()

	_, err := client.Send(ctx, &messaging.Message{Token: "tok"})
	require.NoError(t, err)
	srv.Reset()
	assert.Equal(t, 0, srv.Count(), "Count after Reset")
	assert.Equal(t, 0, srv.Requests(), "Requests after Reset")
	assert.Empty(t, srv.Messages(), "Messages after Reset")

	_, err = client.Send(ctx, &messaging.Message{Token: "gone"})
	assert.True(t, messaging.IsUnregistered(err), "Reset keeps failures: IsUnregistered(%v) = false, want true", err)
	srv.ClearTokens("gone")
	_, err = client.Send(ctx, &messaging.Message{Token: "gone"})
	require.NoError(t, err, "Send after ClearTokens")
}

func TestMessageLimitKeepsCounting(t *testing.T) {
	srv := fcmfake.Start(t, fcmfake.WithMessageLimit(2))
	client := newClient(t, srv)
	for i := range 5 {
		_, err := client.Send(context.Background(), &messaging.Message{Token: fmt.Sprint("tok-", i)})
		require.NoError(t, err)
	}
	assert.Len(t, srv.Messages(), 2, "messages kept")
	assert.Equal(t, 5, srv.Count(), "Count goes on past the limit")
	assert.Equal(t, 1, srv.CountFor("tok-4"), "CountFor past the limit")
}

// TestRequestValidation sends raw requests, since the SDK's typed Message
// cannot express most of these mistakes (a non-string data value, two
// targets). A JSON-level error carries no FcmError detail on real FCM, so
// only the platform status (errorutils.IsInvalidArgument) classifies it.
func TestRequestValidation(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		path         string
		body         string
		wantStatus   int
		wantRPC      string
		wantFCMCode  string // "" = no FcmError detail
		wantInDetail string // a field violation that must be present
	}{
		{
			name:         "non-string data value",
			body:         `{"message":{"token":"t","data":{"kind":"EVENT_NEW","event_id":12}}}`,
			wantStatus:   400,
			wantRPC:      "INVALID_ARGUMENT",
			wantInDetail: "message.data[1].value",
		},
		{
			name:         "data is not an object",
			body:         `{"message":{"token":"t","data":["a"]}}`,
			wantStatus:   400,
			wantRPC:      "INVALID_ARGUMENT",
			wantInDetail: "message.data",
		},
		{
			name:         "no target",
			body:         `{"message":{"data":{"a":"b"}}}`,
			wantStatus:   400,
			wantRPC:      "INVALID_ARGUMENT",
			wantFCMCode:  "INVALID_ARGUMENT",
			wantInDetail: "message",
		},
		{
			name:         "two targets",
			body:         `{"message":{"token":"t","topic":"news"}}`,
			wantStatus:   400,
			wantRPC:      "INVALID_ARGUMENT",
			wantInDetail: "message",
		},
		{
			name:        "reserved data key",
			body:        `{"message":{"token":"t","data":{"from":"x"}}}`,
			wantStatus:  400,
			wantRPC:     "INVALID_ARGUMENT",
			wantFCMCode: "INVALID_ARGUMENT",
		},
		{
			name:       "data over 4 KiB",
			body:       `{"message":{"token":"t","data":{"big":"` + strings.Repeat("x", 4100) + `"}}}`,
			wantStatus: 400,
			wantRPC:    "INVALID_ARGUMENT",
		},
		{
			name:       "unknown field",
			body:       `{"message":{"token":"t","tokne":"u"}}`,
			wantStatus: 400,
			wantRPC:    "INVALID_ARGUMENT",
		},
		{
			name:       "not JSON",
			body:       `message=hi`,
			wantStatus: 400,
			wantRPC:    "INVALID_ARGUMENT",
		},
		{
			name:        "no message",
			body:        `{"validate_only":true}`,
			wantStatus:  400,
			wantRPC:     "INVALID_ARGUMENT",
			wantFCMCode: "INVALID_ARGUMENT",
		},
		{
			name:       "other project",
			path:       "/v1/projects/someone-else/messages:send",
			body:       `{"message":{"token":"t"}}`,
			wantStatus: 403,
			wantRPC:    "PERMISSION_DENIED",
		},
		{
			name:       "GET",
			method:     http.MethodGet,
			wantStatus: 405,
			wantRPC:    "UNIMPLEMENTED",
		},
		{
			name:       "unknown path",
			path:       "/v1/projects/" + project + "/messages:batchSend",
			body:       `{"message":{"token":"t"}}`,
			wantStatus: 404,
			wantRPC:    "NOT_FOUND",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fcmfake.Start(t, fcmfake.WithProject(project))
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/projects/" + project + "/messages:send"
			}
			req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(tt.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			assert.Equal(t, tt.wantStatus, resp.StatusCode, "HTTP status")
			var body struct {
				Error struct {
					Code    int               `json:"code"`
					Message string            `json:"message"`
					Status  string            `json:"status"`
					Details []json.RawMessage `json:"details"`
				} `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "error body is google.rpc.Status JSON")
			assert.Equal(t, tt.wantStatus, body.Error.Code, "error.code")
			assert.Equal(t, tt.wantRPC, body.Error.Status, "error.status")
			assert.NotEmpty(t, body.Error.Message, "error.message")

			var fcmCode string
			var fields []string
			for _, d := range body.Error.Details {
				var detail struct {
					Type            string `json:"@type"`
					ErrorCode       string `json:"errorCode"`
					FieldViolations []struct {
						Field string `json:"field"`
					} `json:"fieldViolations"`
				}
				require.NoError(t, json.Unmarshal(d, &detail))
				switch detail.Type {
				case "type.googleapis.com/google.firebase.fcm.v1.FcmError":
					fcmCode = detail.ErrorCode
				case "type.googleapis.com/google.rpc.BadRequest":
					for _, v := range detail.FieldViolations {
						fields = append(fields, v.Field)
					}
				}
			}
			assert.Equal(t, tt.wantFCMCode, fcmCode, "FcmError errorCode")
			if tt.wantInDetail != "" {
				assert.Contains(t, fields, tt.wantInDetail, "BadRequest field violations")
			}
			assert.Equal(t, 0, srv.Count(), "accepted messages")
		})
	}
}

func TestControlAPI(t *testing.T) {
	srv := fcmfake.Start(t)
	client := newClient(t, srv)
	ctx := context.Background()

	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(srv.URL()+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "POST %s status", path)
	}
	post("/_fake/tokens", `{"failure":"UNREGISTERED","tokens":["gone"]}`)
	post("/_fake/fail", `{"next":1,"failure":"QUOTA_EXCEEDED","retry_after_seconds":7}`)

	_, err := client.Send(ctx, &messaging.Message{Token: "tok"})
	require.True(t, messaging.IsQuotaExceeded(err), "IsQuotaExceeded(%v) = false, want true", err)
	assert.Equal(t, "7", errorutils.HTTPResponse(err).Header.Get("Retry-After"), "Retry-After")
	_, err = client.Send(ctx, &messaging.Message{Token: "gone"})
	assert.True(t, messaging.IsUnregistered(err), "IsUnregistered(%v) = false, want true", err)
	_, err = client.Send(ctx, &messaging.Message{Token: "tok"})
	require.NoError(t, err)

	resp, err := http.Get(srv.URL() + "/_fake/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var got map[string]int
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.Equal(t, map[string]int{"requests": 3, "accepted": 1, "tokens": 1, "duplicates": 0, "fail_next_remaining": 0}, got, "stats")

	resp, err = http.Get(srv.URL() + "/_fake/messages?token=tok")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct {
		Items []fcmfake.Message `json:"items"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list.Items, 1, "messages for tok")
	assert.Equal(t, "tok", list.Items[0].Token)

	post("/_fake/reset", ``)
	assert.Equal(t, 0, srv.Count(), "Count after /_fake/reset")
}
