package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The admin's staff screen: every member with how they sign in, and the
// admin's writes of sign-in, each run through its API route (Dispatch) as
// the admin: registering a member (POST /v1/staff, then a setup code for
// them), issuing a setup code (POST /v1/staff/{id}/setup-codes, shown
// once, on this answer only), deactivating (POST …/deactivation),
// resetting a second factor (POST …/second-factor/reset) and the roles
// that require one (PUT /v1/signin-policy). Every form carries its own
// Idempotency-Key, so a double click or a reload's resubmission appends
// once.

func (c *Console) adminRoutes() {
	c.page("GET /admin/staff", adminRoles, c.getStaff)
	c.page("POST /admin/staff", adminRoles, c.postRegister)
	c.page("POST /admin/staff/{id}/setup-code", adminRoles, c.postIssueCode)
	c.page("POST /admin/staff/{id}/deactivate", adminRoles, c.postDeactivate)
	c.page("POST /admin/staff/{id}/second-factor/reset", adminRoles, c.postResetFactor)
	c.page("POST /admin/signin-policy", adminRoles, c.postPolicy)
}

// staffPage is the staff screen's data.
type staffPage struct {
	Staff    []staffRow
	Roles    []string
	Policy   []string // the roles that require a second factor
	Issued   *issuedCode
	Done     string // a catalog key: what was just done
	DoneID   string // to whom
	Error    string // a refusal, translated
	Register registerForm
	Keys     map[string]string // form → Idempotency-Key
}

// staffRow is one member's row, with the keys of its forms.
type staffRow struct {
	projections.StaffMember
	CodeKey, DeactivateKey, ResetKey string
}

// issuedCode is a setup code just issued, shown this once.
type issuedCode struct {
	StaffID   string
	Code      string
	ExpiresAt time.Time
}

// registerForm is the registration form as typed, with its errors.
type registerForm struct {
	StaffID, Name, Role, Branches string
	Fields                        map[string]string
}

// staffDone are the notices /admin/staff?done= may show.
var staffDone = map[string]string{
	"deactivated": "admin.done.deactivated",
	"reset":       "admin.done.reset",
	"policy":      "admin.done.policy",
}

func (c *Console) getStaff(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := staffPage{Done: staffDone[q.Get("done")]}
	if id := q.Get("id"); events.ValidID(id) {
		p.DoneID = id
	}
	return c.renderStaff(w, r, http.StatusOK, p)
}

func (c *Console) renderStaff(w http.ResponseWriter, r *http.Request, status int, p staffPage) error {
	list, err := c.Queries.StaffList(r.Context())
	if err != nil {
		return err
	}
	pol, err := c.Queries.SignInPolicy(r.Context())
	if err != nil {
		return err
	}
	p.Roles, p.Policy = events.Roles, pol.SecondFactorRoles
	for _, m := range list {
		p.Staff = append(p.Staff, staffRow{StaffMember: m, CodeKey: newKey(), DeactivateKey: newKey(), ResetKey: newKey()})
	}
	p.Keys = map[string]string{"register": newKey(), "code": newKey(), "policy": newKey()}
	if p.Register.Role == "" {
		p.Register.Role = "rep"
	}
	c.render(w, r, status, "admin_staff", "admin.title", p)
	return nil
}

// newKey is a fresh Idempotency-Key for a form.
func newKey() string { return events.NewID().String() }

// dispatch runs the API write method path as s with body (JSON) and the
// form's Idempotency-Key field key; it returns the answer's JSON and the
// refusal, translated by the caller.
func (c *Console) dispatch(r *http.Request, s *Session, method, path, keyField string, body any) (map[string]any, int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, 0, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if k := r.PostFormValue(keyField); k != "" {
		h.Set("Idempotency-Key", k)
	}
	d := c.API.Dispatch(r.Context(), s.Principal(), method, path, h, b)
	if d.Err != nil || d.Status >= 300 {
		err := d.Err
		if err == nil {
			err = events.Errorf(events.Internal, "the API answered %d", d.Status)
		}
		return nil, d.Status, err
	}
	var out map[string]any
	_ = json.Unmarshal(d.Body, &out)
	return out, d.Status, nil
}

// refuseStaff shows the staff screen again with err.
func (c *Console) refuseStaff(w http.ResponseWriter, r *http.Request, status int, err error, p staffPage) error {
	if status < 400 {
		status = statusOf(err)
	}
	if status >= 500 {
		return err
	}
	p.Error = c.cat.errorText(language(r), err)
	return c.renderStaff(w, r, status, p)
}

func (c *Console) postRegister(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := registerForm{StaffID: strings.TrimSpace(r.PostFormValue("staffId")), Name: r.PostFormValue("name"),
		Role: r.PostFormValue("role"), Branches: r.PostFormValue("branches"), Fields: map[string]string{}}
	d := events.StaffRegistered{StaffID: f.StaffID, Name: f.Name, Role: f.Role}
	for _, b := range strings.Split(f.Branches, ",") {
		if b = strings.TrimSpace(b); b != "" {
			d.BranchIDs = append(d.BranchIDs, b)
		}
	}
	p := staffPage{Register: f}
	if _, status, err := c.dispatch(r, s, "POST", "/v1/staff", "_key", &d); err != nil {
		var ee *events.Error
		if errors.As(err, &ee) && ee.Code == events.Invalid && ee.Field != "" {
			field, _, _ := strings.Cut(ee.Field, "[")
			if field == "branchIds" {
				field = "branches"
			}
			f.Fields[field] = c.cat.errorText(language(r), err)
			p.Register = f
			return c.renderStaff(w, r, status, p)
		}
		if events.ErrorCode(err) == events.Conflict {
			f.Fields["staffId"] = c.cat.text(language(r), "admin.error.exists")
			p.Register = f
			return c.renderStaff(w, r, status, p)
		}
		return c.refuseStaff(w, r, status, err, p)
	}
	return c.issueCode(w, r, s, f.StaffID, "_key2", staffPage{})
}

func (c *Console) postIssueCode(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.issueCode(w, r, s, r.PathValue("id"), "_key", staffPage{})
}

// issueCode issues a setup code for id and shows it, once.
func (c *Console) issueCode(w http.ResponseWriter, r *http.Request, s *Session, id, keyField string, p staffPage) error {
	if !events.ValidID(id) {
		return events.Errorf(events.NotFound, "no such staff member")
	}
	res, status, err := c.dispatch(r, s, "POST", "/v1/staff/"+url.PathEscape(id)+"/setup-codes", keyField, struct{}{})
	if err != nil {
		if events.ErrorCode(err) == events.Conflict && c.activeMember(r, id) {
			// A resubmitted form: the code was shown to the first
			// submission. (A member deactivated since the page was read
			// is the API's conflict, said as it is.)
			err = events.Errorf("code_shown", "the setup code was shown once already; issue a new one")
		}
		return c.refuseStaff(w, r, max(status, http.StatusBadRequest), err, p)
	}
	code, _ := res["code"].(string)
	exp, _ := time.Parse(time.RFC3339Nano, stringOf(res["expiresAt"]))
	p.Issued = &issuedCode{StaffID: id, Code: code, ExpiresAt: exp}
	return c.renderStaff(w, r, http.StatusOK, p)
}

// activeMember reports whether staff member id is registered and active.
func (c *Console) activeMember(r *http.Request, id string) bool {
	m, err := c.Queries.StaffMember(r.Context(), id)
	return err == nil && m.Active
}

func stringOf(v any) string { s, _ := v.(string); return s }

func (c *Console) postDeactivate(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.staffAction(w, r, s, "/deactivation", "deactivated")
}

func (c *Console) postResetFactor(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.staffAction(w, r, s, "/second-factor/reset", "reset")
}

// staffAction runs the API write /v1/staff/{id}<suffix> and shows the
// screen with the notice done.
func (c *Console) staffAction(w http.ResponseWriter, r *http.Request, s *Session, suffix, done string) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return events.Errorf(events.NotFound, "no such staff member")
	}
	if _, status, err := c.dispatch(r, s, "POST", "/v1/staff/"+url.PathEscape(id)+suffix, "_key", struct{}{}); err != nil {
		return c.refuseStaff(w, r, status, err, staffPage{})
	}
	http.Redirect(w, r, "/admin/staff?"+url.Values{"done": {done}, "id": {id}}.Encode(), http.StatusSeeOther)
	return nil
}

func (c *Console) postPolicy(w http.ResponseWriter, r *http.Request, s *Session) error {
	roles := []string{}
	for _, role := range events.Roles {
		if r.PostFormValue("role_"+role) != "" {
			roles = append(roles, role)
		}
	}
	if _, status, err := c.dispatch(r, s, "PUT", "/v1/signin-policy", "_key", &events.SecondFactorPolicySet{Roles: roles}); err != nil {
		return c.refuseStaff(w, r, status, err, staffPage{})
	}
	http.Redirect(w, r, "/admin/staff?done=policy", http.StatusSeeOther)
	return nil
}
