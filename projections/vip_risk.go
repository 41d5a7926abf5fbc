package projections

import (
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// A VIP is at risk when their deposit balance falls: the latest
// FinancialsReported (by asOf) against the latest one whose asOf is at
// least riskMonths calendar months before it (WorklistOptions.VIPRiskPercent).
// The customer fold keeps just the reports that comparison can come to
// need: that older one and every report after it.

// riskMonths is how many calendar months back a VIP's balance is compared.
const riskMonths = 3

// maxBalances bounds the reports kept per customer: a bank reporting more
// often than weekly compares with the oldest kept, less than three months
// back, which is no comparison at all.
const maxBalances = 16

// balancePoint is one FinancialsReported's deposit balance.
type balancePoint struct {
	day     int32 // asOf, in days since 1970-01-01
	balance int64
}

// balanceJSON is a balancePoint in the customer state's JSON.
type balanceJSON struct {
	AsOf           string `json:"asOf"`
	DepositBalance int64  `json:"depositBalance"`
}

func dayOf(asOf string) (int32, bool) {
	t, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return 0, false
	}
	return int32(t.Unix() / 86400), true
}

func dayTime(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// addBalance keeps a report's balance: in asOf order, a report of a day
// already kept replacing it (a correction), and none older than the latest
// one at least riskMonths before the latest (what vipAtRisk compares with).
func (c *customer) addBalance(asOf string, balance int64) {
	day, ok := dayOf(asOf)
	if !ok {
		return
	}
	p := balancePoint{day: day, balance: balance}
	i, found := slices.BinarySearchFunc(c.balances, day, func(q balancePoint, d int32) int { return int(q.day - d) })
	if found {
		c.balances[i] = p
	} else {
		c.balances = slices.Insert(c.balances, i, p)
	}
	if ref := c.balanceReference(); ref > 0 {
		c.balances = slices.Delete(c.balances, 0, ref)
	}
	if n := len(c.balances) - maxBalances; n > 0 {
		c.balances = slices.Delete(c.balances, 0, n)
	}
}

// balanceReference returns the index of the latest kept report at least
// riskMonths before the latest one, or -1 if none is.
func (c *customer) balanceReference() int {
	if len(c.balances) < 2 {
		return -1
	}
	cutoff := monthsBefore(dayTime(c.balances[len(c.balances)-1].day), riskMonths)
	for i := len(c.balances) - 2; i >= 0; i-- {
		if !dayTime(c.balances[i].day).After(cutoff) {
			return i
		}
	}
	return -1
}

// monthsBefore returns the day n calendar months before t: the same day of
// the month, or the month's last day when t is the last day of its month or
// the earlier month is shorter (2026-11-30 → 2026-08-31, 2026-05-30 →
// 2026-02-28), so that month-end reports compare with month-end reports.
func monthsBefore(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := daysIn(first.Year(), first.Month())
	if d == daysIn(y, m) || d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// vipAtRisk returns the worklist detail of a VIP with a private banker
// whose latest balance is below (100 − percent)% of the reference report's
// ("balance -25% since 2026-08-31", the fall rounded down), or false.
func (c *customer) vipAtRisk(percent int) (string, bool) {
	if c.tier != "vip" || c.advisorKind != "private_banker" || percent >= 100 {
		return "", false
	}
	ref := c.balanceReference()
	if ref < 0 {
		return "", false
	}
	was, now := uint64(c.balances[ref].balance), uint64(c.balances[len(c.balances)-1].balance)
	// now·100 < was·(100 − percent), in 128 bits: balances reach 10^18.
	nh, nl := bits.Mul64(now, 100)
	wh, wl := bits.Mul64(was, uint64(100-percent))
	if nh > wh || nh == wh && nl >= wl {
		return "", false
	}
	fh, fl := bits.Mul64(was-now, 100)
	fall, _ := bits.Div64(fh, fl, was) // ≤ 100: no overflow
	return fmt.Sprintf("balance -%d%% since %s", fall, dayTime(c.balances[ref].day).Format(time.DateOnly)), true
}

// balancesJSON returns the kept reports for the customer state's JSON.
func (c *customer) balancesJSON() []balanceJSON {
	if len(c.balances) == 0 {
		return nil
	}
	out := make([]balanceJSON, len(c.balances))
	for i, p := range c.balances {
		out[i] = balanceJSON{AsOf: dayTime(p.day).Format(time.DateOnly), DepositBalance: p.balance}
	}
	return out
}

// setBalancesJSON restores what balancesJSON returned. A record written by
// a release that kept only the latest financials starts from those.
func (c *customer) setBalancesJSON(bs []balanceJSON) {
	if bs == nil && c.fin != nil {
		bs = []balanceJSON{{AsOf: c.fin.AsOf, DepositBalance: c.fin.DepositBalance}}
	}
	for _, b := range bs {
		c.addBalance(b.AsOf, b.DepositBalance)
	}
}
