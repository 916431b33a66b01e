package salesforce

import (
	"bytes"
	"fmt"
	"time"
)

// User is a User record with the fields syncd reads (UserFields). Null fields decode
// to zero values: Salesforce does not tell an empty text field from a null one.
type User struct {
	ID                   string   `json:"Id"`
	Username             string   `json:"Username"`
	Email                string   `json:"Email"`
	FirstName            string   `json:"FirstName"`
	LastName             string   `json:"LastName"`
	Alias                string   `json:"Alias"`
	CommunityNickname    string   `json:"CommunityNickname"`
	FederationIdentifier string   `json:"FederationIdentifier"`
	IsActive             bool     `json:"IsActive"`
	UserType             string   `json:"UserType"`
	ProfileID            string   `json:"ProfileId"`
	UserRoleID           string   `json:"UserRoleId"`
	ManagerID            string   `json:"ManagerId"`
	Title                string   `json:"Title"`
	Department           string   `json:"Department"`
	Phone                string   `json:"Phone"`
	MobilePhone          string   `json:"MobilePhone"`
	EmployeeNumber       string   `json:"EmployeeNumber"`
	TimeZoneSidKey       string   `json:"TimeZoneSidKey"`
	LocaleSidKey         string   `json:"LocaleSidKey"`
	EmailEncodingKey     string   `json:"EmailEncodingKey"`
	LanguageLocaleKey    string   `json:"LanguageLocaleKey"`
	LastLoginDate        Datetime `json:"LastLoginDate"`
	SystemModstamp       Datetime `json:"SystemModstamp"`
}

// UserFields returns the User fields that User holds, in SELECT order.
func UserFields() []string {
	return []string{
		"Id", "Username", "Email", "FirstName", "LastName", "Alias", "CommunityNickname",
		"FederationIdentifier", "IsActive", "UserType", "ProfileId", "UserRoleId", "ManagerId",
		"Title", "Department", "Phone", "MobilePhone", "EmployeeNumber",
		"TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey", "LanguageLocaleKey",
		"LastLoginDate", "SystemModstamp",
	}
}

// datetimeLayout is how Salesforce writes datetimes in JSON: "2013-05-20T20:49:32.000+0000".
const datetimeLayout = "2006-01-02T15:04:05.000-0700"

// Datetime is a Salesforce datetime field; the zero value stands for null.
type Datetime struct {
	time.Time
}

// UnmarshalJSON reads null or Salesforce's datetime form (RFC 3339 is accepted too).
func (d *Datetime) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		d.Time = time.Time{}
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("salesforce: datetime %s is not a string", data)
	}
	t, err := ParseDatetime(string(data[1 : len(data)-1]))
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// ParseDatetime reads a datetime as Salesforce writes it: "2013-05-20T20:49:32.000+0000"
// in JSON answers, RFC 3339 ("2013-05-20T20:49:32.000Z") in Bulk API CSV. It
// returns the time in UTC.
func ParseDatetime(s string) (time.Time, error) {
	t, err := time.Parse(datetimeLayout, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse(time.RFC3339Nano, s); err2 != nil {
			return time.Time{}, fmt.Errorf("salesforce: datetime %q: %w", s, err)
		}
	}
	return t.UTC(), nil
}

// MarshalJSON writes null for the zero value and Salesforce's form otherwise.
func (d Datetime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.UTC().Format(datetimeLayout) + `"`), nil
}
