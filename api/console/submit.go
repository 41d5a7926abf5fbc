package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// submit handles the POST of spec's form: it runs the API route of the
// write as the member, with the form's Idempotency-Key and If-Match, and
// answers as a person needs it:
//
//   - 201: back to the customer page's timeline, with a notice;
//   - 400: the page again, the form open with the user's input and the
//     message next to the input it is about (nothing was appended);
//   - 409 merged (the customer was merged into another): the survivor's
//     page, the form open on it with the user's input (merged_forms.go);
//   - 409 (the customer changed since the form's version): the page again
//     with what changed and the form's version moved to the current one,
//     so that submitting again appends;
//   - anything else: the error page.
func (c *Console) submit(spec *formSpec) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		id := r.PathValue("id")
		if !events.ValidID(id) {
			return errNoCustomer
		}
		if err := r.ParseForm(); err != nil {
			return events.InvalidField("body", "could not read the request body")
		}
		lang := language(r)
		vals := url.Values{}
		for k, v := range r.PostForm {
			if k != csrfField && k != keyField && k != versionField {
				vals[k] = lineBreaks(v)
			}
		}
		key := r.PostForm.Get(keyField)
		if _, err := events.ParseID(keyField, key); err != nil {
			key = events.NewID().String() // a form without a usable key still works, once
		}
		version, verr := strconv.ParseUint(r.PostForm.Get(versionField), 10, 63)
		f := c.newForm(spec, id, lang, key, version, vals)
		f.Open = true

		data, err := spec.body(vals, c.now())
		if err != nil {
			f.setError(err)
			return c.again(w, r, s, id, f, http.StatusBadRequest)
		}
		body, err := encodeBody(data)
		if err != nil {
			return err
		}
		h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
		if verr == nil {
			h.Set("If-Match", `"`+strconv.FormatUint(version, 10)+`"`)
		}
		d := c.post(r.Context(), s, id, spec, h, body)
		switch d.Status {
		case http.StatusCreated:
			c.saved(w, r, spec, id, appended(d))
			return nil
		case http.StatusBadRequest:
			f.setError(d.Err)
			return c.again(w, r, s, id, f, http.StatusBadRequest)
		case http.StatusConflict:
			if done, err := c.mergedAway(w, r, s, f, d.Err); done { // merged_forms.go
				return err
			}
			var ee *events.Error
			if !asEventsError(d.Err, &ee) || ee.Code != events.Conflict {
				return dispatchError(d)
			}
			if v, ok := c.replaySaved(r.Context(), s, id, spec, vals, key, version, h); ok {
				c.saved(w, r, spec, id, v)
				return nil
			}
			return c.conflicted(w, r, s, id, f, ee)
		}
		return dispatchError(d)
	}
}

// post runs the API route of spec's write on customer id as the member.
func (c *Console) post(ctx context.Context, s *Session, id string, spec *formSpec, h http.Header, body []byte) api.Dispatched {
	return c.API.Dispatch(ctx, s.Principal(), http.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/"+spec.path, h, body)
}

// appended is the version of the event a 201 of the API appended (its ETag).
func appended(d api.Dispatched) uint64 {
	v, _ := strconv.ParseUint(strings.Trim(d.Header.Get("ETag"), `"`), 10, 63)
	return v
}

// saved sends the browser back to the customer's timeline after spec's
// write appended version, with its notice.
func (c *Console) saved(w http.ResponseWriter, r *http.Request, spec *formSpec, id string, version uint64) {
	c.setFlash(w, spec.kind, version)
	http.Redirect(w, r, "/customers/"+url.PathEscape(id)+"#timeline", http.StatusSeeOther)
}

// lineBreaks returns vs with each CR LF as LF. A browser sends the line
// breaks of a text area as CR LF (HTML's form encoding), a program posting
// JSON to the API as LF: the form appends what the API route appends for
// the text the user sees, and a line break counts as one character
// towards its limit.
func lineBreaks(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ReplaceAll(v, "\r\n", "\n")
	}
	return out
}

// replaySaved answers the retry of a form saved already (its answer was
// lost, or it was sent twice without script) whose time was left at its
// default. That time was the moment of the first submission, so the
// retry's body differs from the saved one and the API took it for another
// request; sent with the saved event's time instead, it is the same
// request, and the API answers it as it answered the first. It returns
// the version of the saved event, or false if none of the events after
// the form's version has its key, or the retry differs in anything else.
func (c *Console) replaySaved(ctx context.Context, s *Session, id string, spec *formSpec, vals url.Values, key string,
	version uint64, h http.Header) (uint64, bool) {
	keyID, err := events.ParseID(keyField, key)
	if err != nil || !spec.timeUntouched(vals) {
		return 0, false
	}
	evs, err := c.Store.ReadStream(ctx, events.CustomerStream(id), version+1, events.Forward, conflictLines)
	if err != nil {
		return 0, false
	}
	for _, e := range evs {
		if e.ID != keyID {
			continue
		}
		data, err := spec.body(vals, e.OccurredAt)
		if err != nil {
			return 0, false
		}
		body, err := encodeBody(data)
		if err != nil {
			return 0, false
		}
		d := c.post(ctx, s, id, spec, h, body)
		if d.Status != http.StatusCreated {
			return 0, false
		}
		return appended(d), true
	}
	return 0, false
}

// conflicted shows form f again after the API's conflict ee.
func (c *Console) conflicted(w http.ResponseWriter, r *http.Request, s *Session, id string, f *form, ee *events.Error) error {
	ctx := r.Context()
	lang := language(r)
	cf, saved, last, err := c.changesSince(ctx, id, f.Version, f.Key, lang, c.staffNames(lang))
	if err != nil {
		return err
	}
	if ee.ActualVersion >= 0 && uint64(ee.ActualVersion) > cf.To {
		cf.To = uint64(ee.ActualVersion) // more changed than are listed
	}
	// The page shows the customer as they are now, changes included.
	c.settle(ctx, last)
	switch {
	case saved:
		// This form was saved already (submitted, then changed and
		// submitted again): a new key, so that the new input is a new
		// write and not a retry of the saved one.
		f.Key, f.Saved = events.NewID().String(), true
	case len(cf.Changes) == 0:
		// Nothing changed after the form's version, yet the API refused:
		// its key was used for another request. A new key makes it new.
		f.Key, f.Err = events.NewID().String(), c.cat.errorText(lang, ee)
	default:
		f.Conflict = cf
	}
	f.Version = cf.To
	if f.Kind == "profile" {
		cur, err := c.Queries.Customer(ctx, id, c.now())
		if err != nil {
			return err
		}
		for _, fld := range rebase(f.vals, &cur) {
			f.msgs[fld] = c.cat.text(lang, "cust.conflict.field")
		}
	}
	return c.again(w, r, s, id, f, http.StatusConflict)
}

// again renders the customer page with form f open.
func (c *Console) again(w http.ResponseWriter, r *http.Request, s *Session, id string, f *form, status int) error {
	p, err := c.customerData(r, s, id, "", f)
	if err != nil {
		return err
	}
	c.render(w, r, status, "customer", "cust.title", p)
	return nil
}

// settle waits briefly for the read side to apply pos (as the API does
// after a write); past the wait the page shows what it has.
func (c *Console) settle(ctx context.Context, pos events.Position) {
	if c.Progress == nil || pos.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = c.Progress.WaitFor(ctx, pos)
}
