package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// topicModel computes an event's live topics from the log, as the contract
// defines them: log; customer:<id> and advisor:<id> for customer events
// and calls; rep:<id> for calls; qa for call recording, selection and
// review; coaching for reviews with points, acknowledgements and checks.
type topicModel struct {
	callCustomer, callRep, advisor map[string]string
}

func newTopicModel(log []map[string]any) *topicModel {
	m := &topicModel{callCustomer: map[string]string{}, callRep: map[string]string{}, advisor: map[string]string{}}
	for _, e := range log {
		data, _ := e["data"].(map[string]any)
		cat, id, _ := strings.Cut(e["stream"].(string), "-")
		switch e["type"] {
		case "CallRecorded":
			m.callCustomer[id], m.callRep[id] = data["customerId"].(string), data["staffId"].(string)
		case "AdvisorAssigned":
			if cat == "customer" {
				m.advisor[id] = data["advisorId"].(string)
			}
		}
	}
	return m
}

func (m *topicModel) topics(e map[string]any) []string {
	ts := []string{"log"}
	data, _ := e["data"].(map[string]any)
	cat, id, _ := strings.Cut(e["stream"].(string), "-")
	customer := ""
	switch cat {
	case "customer":
		customer = id
	case "qaform", "calibration":
		ts = append(ts, "qa")
	case "settings":
		if id == "qa-sampling" {
			ts = append(ts, "qa")
		}
	case "call":
		customer = m.callCustomer[id]
		ts = append(ts, "rep:"+m.callRep[id])
		switch e["type"] {
		case "CallRecorded", "CallSelectedForReview", "ReviewAcknowledged", "ReviewDisputed", "DisputeResolved":
			ts = append(ts, "qa")
		case "CallReviewed":
			ts = append(ts, "qa")
			if cps, _ := data["coachingPoints"].([]any); len(cps) > 0 {
				ts = append(ts, "coaching")
			}
		case "CoachingAcknowledged", "CoachingFollowedUp":
			ts = append(ts, "coaching")
		}
	}
	if customer != "" {
		ts = append(ts, "customer:"+customer)
		if e["type"] == "AdvisorAssigned" {
			ts = append(ts, "advisor:"+data["advisorId"].(string))
		} else if a := m.advisor[customer]; a != "" {
			ts = append(ts, "advisor:"+a)
		}
	}
	return ts
}

// othersQA reports whether e is the QA of a call of another rep than
// who, a rep or private banker (R1, R2, P1): it reaches them on no topic.
func (m *topicModel) othersQA(e map[string]any, who string) bool {
	cat, id, _ := strings.Cut(e["stream"].(string), "-")
	return (who[0] == 'R' || who[0] == 'P') && cat == "call" && e["type"] != "CallRecorded" && m.callRep[id] != who
}

// TestLive: 20 writers append contacts and record, review and
// acknowledge calls while 10 subscribers with different topics and roles
// follow the feed; one drops midway and resumes from its last position,
// one joins late from an earlier position. Each sees exactly the events of
// its topics, in strictly increasing position order, each once, tagged
// with exactly its matching topics.
func TestLive(t *testing.T) {
	s := newStack(t, stackOptions{})
	for i := range 5 {
		s.must("R1", "POST", "/v1/customers", newCustomer(fmt.Sprintf("C%d", i)), 201)
	}
	s.must("S1", "POST", "/v1/customers/C0/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("H1", "POST", "/v1/customers/C2/assignment", map[string]any{"advisorId": "P1", "kind": "private_banker"}, 201)
	audio := []byte("RIFF-live-test-audio")
	digest := s.upload("R1", audio)
	s.publishForm()
	start := s.head()

	subs := []*liveSub{
		{who: "R1", topics: []string{"customer:C0"}},
		{who: "P1", topics: []string{"customer:C1"}},
		{who: "R2", topics: []string{"customer:C2", "customer:C3"}},
		{who: "R1", topics: []string{"advisor:R1"}},
		{who: "P1", topics: []string{"advisor:P1"}},
		{who: "U1", topics: []string{"log"}}, // drops midway and resumes
		{who: "S1", topics: []string{"qa"}},
		{who: "S1", topics: []string{"coaching"}},
		{who: "H1", topics: []string{"qa", "coaching", "customer:C4"}},
		{who: "R1", topics: []string{"rep:R1"}}, // joins late from start
	}
	const dropper, late = 5, 9
	// received[i] collects the messages of subscriber i across reconnects.
	received := make([][]map[string]any, len(subs))
	for i, sub := range subs {
		if i == late {
			continue
		}
		l, _, err := s.dialLive(sub.who, sub.topics, &start)
		if err != nil {
			t.Fatalf("subscribe %v: %v", sub.topics, err)
		}
		subs[i] = l
	}

	var wg sync.WaitGroup
	calls := 0
	for w := range 20 {
		if w >= 16 {
			calls += 2
		}
		wg.Go(func() {
			fail := func(format string, args ...any) { t.Errorf("writer %d: "+format, append([]any{w}, args...)...) }
			post := func(who, path string, body any) map[string]any {
				a, err := s.send(who, "POST", path, body)
				if err != nil || a.status != 201 {
					fail("POST %s: %v %d %s", path, err, a.status, a.raw)
				}
				return a.body
			}
			if w >= 16 { // record, review and acknowledge calls
				rep := []string{"R1", "P1"}[w%2]
				for i := range 2 {
					id := fmt.Sprintf("K%d-%d", w, i)
					post(rep, "/v1/calls", newCall(id, fmt.Sprintf("C%d", (w+i)%5), digest, len(audio)))
					post("S1", "/v1/calls/"+id+"/reviews", newReview("greeting"))
					a, err := s.send(rep, "GET", "/v1/calls/"+id, nil)
					if err != nil || a.status != 200 {
						fail("GET call %s: %v %d", id, err, a.status)
						return
					}
					pt := a.body["coachingPoints"].([]any)[0].(map[string]any)["id"].(string)
					post(rep, "/v1/coaching/"+pt+"/acknowledgement", map[string]any{"comment": "확인"})
					if i == 0 {
						post(rep, "/v1/calls/"+id+"/evaluations/1/acknowledgement", map[string]any{})
					} else {
						post(rep, "/v1/calls/"+id+"/evaluations/1/dispute", map[string]any{"reason": "고지는 했습니다"})
					}
				}
				return
			}
			for i := range 10 {
				post([]string{"R1", "P1"}[w%2], fmt.Sprintf("/v1/customers/C%d/contacts", (w+i)%5), newContact(fmt.Sprintf("w%d i%d", w, i)))
				switch {
				case w == 0 && i == 4: // the log subscriber drops and resumes from its last position
					old := subs[dropper]
					old.conn.Close()
					<-old.done
					received[dropper] = old.received()
					last := old.lastPosition(start)
					l, _, err := s.dialLive(old.who, old.topics, &last)
					if err != nil {
						fail("resubscribe: %v", err)
						return
					}
					subs[dropper] = l
				case w == 1 && i == 5: // a late subscriber replays from start, then goes live
					l, _, err := s.dialLive(subs[late].who, subs[late].topics, &start)
					if err != nil {
						fail("late subscribe: %v", err)
						return
					}
					subs[late] = l
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The sampler selects every call (each is among its rep's first 1000);
	// then the log is final.
	var log []map[string]any
	s.waitUntil("the sampler selects every call", func() bool {
		log = s.logEvents(0)
		n := 0
		for _, e := range log {
			if e["type"] == "CallSelectedForReview" && e["position"].(float64) > start {
				n++
			}
		}
		return n == calls
	})
	// Per call: recorded, selected, reviewed, its point acknowledged, and
	// its evaluation acknowledged or disputed.
	if len(log)-int(start) != 16*10+calls*5 {
		t.Fatalf("the log has %d new events, want %d", len(log)-int(start), 16*10+calls*5)
	}
	model := newTopicModel(log)

	for i, sub := range subs {
		var want []float64
		wantTopics := map[float64][]string{}
		for _, e := range log {
			p := e["position"].(float64)
			if p <= start {
				continue
			}
			var match []string
			for _, tp := range model.topics(e) {
				if model.othersQA(e, sub.who) {
					break
				}
				if slices.Contains(sub.topics, tp) {
					match = append(match, tp)
				}
			}
			if len(match) > 0 {
				want = append(want, p)
				slices.Sort(match)
				wantTopics[p] = match
			}
		}
		if len(want) == 0 {
			t.Fatalf("subscriber %v expects nothing: the test is wrong", sub.topics)
		}
		last := want[len(want)-1]
		s.waitUntil(fmt.Sprintf("subscriber %d %v receives position %v", i, sub.topics, last), func() bool {
			return sub.lastPosition(0) >= last
		})
		sub.finish(t)
		got := append(received[i], sub.received()...)
		var positions []float64
		for _, m := range got {
			p := m["position"].(float64)
			positions = append(positions, p)
			topics := asStringSlice(m["topics"])
			sorted := slices.Clone(topics)
			slices.Sort(sorted)
			if !slices.Equal(sorted, wantTopics[p]) {
				t.Errorf("subscriber %d %v: position %v tagged %v, want %v", i, sub.topics, p, topics, wantTopics[p])
			}
		}
		for j := 1; j < len(positions); j++ {
			if positions[j] <= positions[j-1] {
				t.Errorf("subscriber %d %v: position %v after %v", i, sub.topics, positions[j], positions[j-1])
			}
		}
		if !slices.Equal(positions, want) {
			t.Errorf("subscriber %d %v: got %d events %v,\nwant %d %v", i, sub.topics, len(positions), positions, len(want), want)
		}
	}

	// Personal fields arrive opened, for the roles that may read them.
	for _, m := range subs[0].received() {
		if m["type"] == "ContactLogged" && !strings.HasPrefix(m["data"].(map[string]any)["summary"].(string), "w") {
			t.Fatalf("live contact not decrypted: %v", m)
		}
	}
}

func asStringSlice(v any) []string {
	var out []string
	for _, x := range asAnySlice(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestLiveRefusals: roles only get their topics, bad subscriptions are
// closed with 4400, bad tokens never get a socket; the browser form of the
// token and a full replay from the start work.
func TestLiveRefusals(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)

	for _, c := range []struct {
		who    string
		topics []string
		raw    string
		code   int
	}{
		{"R1", []string{"log"}, "", 4403},
		{"P1", []string{"customer:C1", "log"}, "", 4403},
		{"R1", []string{"advisor:P1"}, "", 4403},
		{"R1", []string{"rep:R2"}, "", 4403},
		{"R1", []string{"qa"}, "", 4403},
		{"S1", []string{"log"}, "", 4403},
		{"H1", []string{"log"}, "", 4403},
		{"R1", nil, `not json`, 4400},
		{"R1", nil, `{"subscribe": []}`, 4400},
		{"R1", nil, `{"subscribe": ["customer:C1"], "fromPosition": 0, "extra": 1}`, 4400},
		{"R1", nil, `{"subscribe": ["customer:C1"], "fromPosition": "soon"}`, 4400},
		{"R1", nil, `{"subscribe": "customer:C1"}`, 4400},
		{"R1", []string{"weather"}, "", 4400},
		{"R1", []string{"customer:C 1"}, "", 4400},
		{"U1", []string{"log", "nonsense:1"}, "", 4400},
	} {
		var raw []string
		if c.raw != "" {
			raw = []string{c.raw}
		}
		l, _, err := s.dialLive(c.who, c.topics, nil, raw...)
		if err != nil {
			t.Fatalf("%s %v %s: %v", c.who, c.topics, c.raw, err)
		}
		if code := l.closeCode(t); code != c.code || len(l.received()) != 0 {
			t.Errorf("%s subscribing %v %s: close %d after %d messages, want %d", c.who, c.topics, c.raw, code, len(l.received()), c.code)
		}
	}

	// No socket without a valid token.
	for name, tok := range map[string]string{"none": "", "revoked or unknown": "dgl_nope", "expired": s.tok["expired"]} {
		hdr := http.Header{}
		if tok != "" {
			hdr.Set("Authorization", "Bearer "+tok)
		}
		_, resp, err := websocket.DefaultDialer.Dial(s.liveURL()+"", hdr)
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("token %s: %v %v, want a 401 handshake", name, err, resp)
		}
	}
	// The admin manages staff, not customers: no live feed.
	if _, resp, err := s.dialLive("A001", []string{"customer:C1"}, nil); err == nil || resp.StatusCode != 403 {
		t.Errorf("admin on /v1/live: %v %v, want 403", err, resp)
	}

	// access_token in the query, and a replay of the whole log from 0.
	zero := 0.0
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, _, err := d.Dial(s.liveURL()+"?access_token="+url.QueryEscape(s.tok["U1"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &liveSub{topics: []string{"log"}, conn: conn, done: make(chan struct{})}
	if err := conn.WriteJSON(map[string]any{"subscribe": l.topics, "fromPosition": zero}); err != nil {
		t.Fatal(err)
	}
	go l.read()
	log := s.logEvents(0)
	last := log[len(log)-1]["position"].(float64)
	s.waitUntil("the replay from 0", func() bool { return l.lastPosition(0) >= last })
	l.finish(t)
	got := l.received()
	if len(got) != len(log) {
		t.Fatalf("replay from 0 gave %d events, the log has %d", len(got), len(log))
	}
	for i, m := range got {
		if m["position"] != log[i]["position"] || m["id"] != log[i]["id"] || m["type"] != log[i]["type"] {
			t.Fatalf("replay event %d: %v, log %v", i, m, log[i])
		}
	}
}

// TestLiveFromPositionAhead: fromPosition means "after this position"
// even when the feed has not reached it yet (a client may take it from its
// own write's answer): nothing at or before it is delivered.
func TestLiveFromPositionAhead(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	head := s.head()
	from := head + 3
	l, _, err := s.dialLive("U1", []string{"log", "customer:C1"}, &from)
	if err != nil {
		t.Fatal(err)
	}
	var positions []float64
	for i := range 5 {
		positions = append(positions, s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprint(i)), 201)["position"].(float64))
	}
	last := positions[len(positions)-1]
	s.waitUntil("the last contact on the feed", func() bool { return l.lastPosition(0) >= last })
	l.finish(t)
	var got []float64
	for _, m := range l.received() {
		got = append(got, m["position"].(float64))
	}
	if want := positions[3:]; !slices.Equal(got, want) {
		t.Fatalf("from position %v: got %v, want %v", from, got, want)
	}
}
