// Package salesforce is syncd's REST client for Salesforce: OAuth (JWT bearer and
// client credentials), SOQL paging, sObject Collections writes, typed errors and the
// org's API usage read from every answer.
package salesforce
