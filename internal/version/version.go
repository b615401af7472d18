// Package version holds the clerkgate release version, shared by the packages
// that announce themselves on the wire (the Backend API client's User-Agent).
package version

// Version is the clerkgate release this code belongs to.
const Version = "0.1.0"
