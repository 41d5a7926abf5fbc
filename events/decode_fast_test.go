package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fastTypes are the types decodeFast knows.
var fastTypes = []string{"FinancialsReported", "ProductPitched", "ContactLogged", "ConsentChanged",
	"CustomerRegistered", "ProfileVerified", "TierAssigned"}

// fastCases are data in the plain form (first of each type: what json.Marshal
// writes) and beside it forms the fast path must leave to encoding/json or
// read the same.
var fastCases = []string{
	`{"asOf":"2026-08-31","depositBalance":3194177,"profitContribution":-8687,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":0,"profitContribution":0,"currency":"USD"}`,
	`{"asOf":"2026-08-31","depositBalance":999999999999999999,"profitContribution":-999999999999999999,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":9223372036854775807,"profitContribution":-9223372036854775808,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":9223372036854775808,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":null,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":1.5,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":1e3,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":012,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":-0,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":"12","currency":"KRW"}`,
	`{"AsOf":"2026-08-31","DEPOSITBALANCE":12,"currency":"KRW"}`,
	`{"asOf":"2026-08-31","depositBalance":12,"currency":"KRW","extra":[1,{"a":null}]}`,
	`{"asOf":"2026-08-31","asOf":"2026-09-30","depositBalance":1,"depositBalance":2}`,
	` { "asOf" : "2026-08-31" ,	"depositBalance"
	: 12 } `,
	`{"asOf":"2026-08-31"} x`,
	`{"asOf":"2026-08-31",}`,
	`{"asOf":"2026-08-31"`,
	`{}`,
	`[]`,
	`null`,
	`{"product":"PENSION_IRP","channel":"phone_outbound","outcome":"accepted","occurredAt":"2026-08-05T15:32:48.822421718Z"}`,
	`{"product":"P","channel":"branch","outcome":"declined","reason":"pii:v1:abc","campaignId":"K1","followUpOn":"2026-09-01","purpose":"marketing","consentChannel":"sms","consentVersion":18446744073709551615,"occurredAt":"2026-08-05T15:32:48+09:00"}`,
	`{"product":"P","consentVersion":18446744073709551616}`,
	`{"product":"P","consentVersion":-1}`,
	`{"product":"P","occurredAt":"2026-08-05"}`,
	`{"product":"P","occurredAt":"2026-08-05T15:32:48.822421718\u005a"}`,
	`{"product":"P","occurredAt":null}`,
	`{"channel":"phone_inbound","purpose":"sale","summary":"pii:v1:dtamGu_g242MaZJHU45zLgAJB6hGJLyeSHIjBeaKnIIsx2E3FDAlZ98","occurredAt":"2026-08-16T14:42:37.689569209Z","durationSec":485,"staffId":"R000"}`,
	`{"channel":"phone_inbound","purpose":"sale","summary":"고객이 \"금리\"를 물음","occurredAt":"2026-08-16T14:42:37Z","callId":"CALL1"}`,
	`{"channel":"phone_inbound","purpose":"sale","summary":"고객이 금리를 물음","occurredAt":"2026-08-16T14:42:37Z"}`,
	"{\"channel\":\"branch\",\"summary\":\"bad \xff utf-8\"}",
	"{\"channel\":\"branch\",\"summary\":\"a\tb\"}",
	`{"channel":"branch","summary":"\ud800"}`,
	`{"channel":"post","purpose":"marketing","granted":false}`,
	`{"channel":"post","purpose":"marketing","granted":true}`,
	`{"channel":"post","purpose":"marketing","granted":null}`,
	`{"channel":"post","purpose":"marketing","granted":tru}`,
	`{"channel":"post","purpose":"marketing","granted":"true"}`,
	`{"customerId":"C0000006","name":"pii:v1:eJr2","birthDate":"pii:v1:ILvN","phone":"pii:v1:_Oa7","address":"pii:v1:AWcZ","branchId":"B127","source":{"system":"core-banking","ref":"CIF000000006"}}`,
	`{"customerId":"C1","name":"김철수","email":"a@b.kr","branchId":"B1","source":{"system":"crm"},"source":{"ref":"R"}}`,
	`{"customerId":"C1","name":"n","source":null}`,
	`{"customerId":"C1","name":"n","source":{"system":"crm","other":1}}`,
	`{"channel":"branch","occurredAt":"2026-10-26T19:24:52.615125422Z"}`,
	`{"channel":"branch","fields":["name","phone"]}`,
	`{"channel":"branch","fields":[]}`,
	`{"channel":"branch","fields":["name",]}`,
	`{"channel":"branch","fields":[1]}`,
	`{"channel":"branch","fields":null}`,
	`{"tier":"general","basis":{"depositBalance":2881138,"profitContribution":18170,"rule":"seed"}}`,
	`{"tier":"vip","basis":{}}`,
	`{"tier":"vip","basis":{"rule":"r","Rule":"s"}}`,
}

// TestDecodeFastSameAsJSON: for every type it knows, decodeFast either
// declines or gives what encoding/json gives (and then json accepts the
// input too); the plain forms json.Marshal writes take the fast path.
func TestDecodeFastSameAsJSON(t *testing.T) {
	for _, typ := range fastTypes {
		for _, in := range fastCases {
			checkDecodeFast(t, typ, []byte(in))
		}
	}
	plain := []Data{
		&FinancialsReported{AsOf: "2026-08-31", DepositBalance: ptr(int64(3194177)), ProfitContribution: ptr(int64(-8687)), Currency: "KRW"},
		&ProductPitched{Product: "PENSION_IRP", Channel: "phone_outbound", Outcome: "accepted", Reason: "pii:v1:x", CampaignID: "K1",
			FollowUpOn: "2026-09-01", Purpose: "marketing", ConsentChannel: "sms", ConsentVersion: 7, OccurredAt: time.Date(2026, 8, 5, 15, 32, 48, 822421718, time.UTC)},
		&ContactLogged{Channel: "phone_inbound", Purpose: "sale", Summary: "pii:v1:d", OccurredAt: time.Date(2026, 8, 16, 14, 42, 37, 0, time.UTC),
			DurationSec: 485, StaffID: "R000", CallID: "CALL1"},
		&ConsentChanged{Channel: "post", Purpose: "marketing", Granted: ptr(false)},
		&CustomerRegistered{CustomerID: "C0000006", Name: "pii:v1:e", BirthDate: "pii:v1:b", Phone: "pii:v1:p", Email: "pii:v1:m", Address: "pii:v1:a",
			BranchID: "B127", Source: Source{System: "core-banking", Ref: "CIF000000006"}},
		&ProfileVerified{Channel: "branch", Fields: []string{"name", "phone"}, OccurredAt: time.Date(2026, 10, 26, 19, 24, 52, 615125422, time.UTC)},
		&TierAssigned{Tier: "general", Basis: TierBasis{DepositBalance: ptr(int64(2881138)), ProfitContribution: ptr(int64(-18170)), Rule: "seed"}},
	}
	for _, d := range plain {
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeFast(d.EventType(), raw)
		if !ok {
			t.Errorf("%s: the plain form %s took the slow path", d.EventType(), raw)
			continue
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("%s: decodeFast(%s) = %+v, want %+v", d.EventType(), raw, got, d)
		}
		checkDecodeFast(t, d.EventType(), raw)
	}
	if _, ok := decodeFast("CallRecorded", []byte(`{}`)); ok {
		t.Error("decodeFast took a type it does not know")
	}
}

// FuzzDecodeFast: on any input, decodeFast declines or agrees with
// encoding/json.
func FuzzDecodeFast(f *testing.F) {
	for i, in := range fastCases {
		f.Add(uint8(i), []byte(in))
	}
	f.Fuzz(func(t *testing.T, typ uint8, raw []byte) {
		checkDecodeFast(t, fastTypes[int(typ)%len(fastTypes)], raw)
	})
}

func checkDecodeFast(t *testing.T, typ string, raw []byte) {
	t.Helper()
	got, ok := decodeFast(typ, raw)
	if !ok {
		return
	}
	want := New(typ)
	if err := json.Unmarshal(raw, want); err != nil {
		t.Fatalf("%s: decodeFast accepted %q, which encoding/json refuses: %v", typ, raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decodeFast(%q) = %+v, encoding/json gives %+v", typ, raw, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkDecodeFast decodes the plain forms of the seeded log's types
// (go test -bench DecodeFast -benchmem ./events).
func BenchmarkDecodeFast(b *testing.B) {
	raw := []struct{ typ, data string }{
		{"CustomerRegistered", fastCases[39]}, {"ContactLogged", fastCases[28]}, {"ProductPitched", fastCases[21]},
		{"FinancialsReported", fastCases[0]}, {"ConsentChanged", fastCases[34]}, {"TierAssigned", fastCases[50]},
	}
	for b.Loop() {
		for _, r := range raw {
			if _, ok := decodeFast(r.typ, []byte(r.data)); !ok {
				b.Fatalf("%s took the slow path", r.typ)
			}
		}
	}
}
