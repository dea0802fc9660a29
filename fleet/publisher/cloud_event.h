// A domain event of one host as a CloudEvent (CloudEvents 1.0, JSON
// format), the message xenlet-publish stores in the fleet's event stream:
//
//   {"specversion":"1.0",
//    "id":"<instance>:<revision>",         unique per change: a duplicate
//    "source":"xenlet://<host>",            of a retried publish is the
//    "type":"io.xenlet.domain.started",     same id (and Nats-Msg-Id)
//    "subject":"<uuid>",
//    "time":"<detected time, RFC 3339>",
//    "datacontenttype":"application/json",
//    "xenletinstance":"<instance>","xenletrevision":"<revision>",
//    "data":{"eventType":"EVENT_TYPE_MODIFIED",
//            "transition":"TRANSITION_STARTED",
//            "coalesced":false,"initiator":"","domain":{...}}}
//
// `domain` is the xenlet.v1.Domain in protobuf's JSON mapping, so a reader
// can parse it back into the message.
#ifndef XENLET_FLEET_PUBLISHER_CLOUD_EVENT_H_
#define XENLET_FLEET_PUBLISHER_CLOUD_EVENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "xenlet/v1/domain_service.pb.h"

namespace xenlet::fleet {

// The CloudEvent id, also the JetStream message id: "<instance>:<revision>".
std::string EventId(absl::string_view instance_id, uint64_t revision);

// "io.xenlet.domain." + the transition in lower case ("started"); for an
// event without one, the event type ("deleted").
std::string EventTypeName(const xenlet::v1::WatchDomainsResponse& event);

// The CloudEvent of a live ADDED, MODIFIED or DELETED event of `host`.
absl::StatusOr<std::string> FormatCloudEvent(
    absl::string_view host, const xenlet::v1::WatchDomainsResponse& event);

}  // namespace xenlet::fleet

#endif  // XENLET_FLEET_PUBLISHER_CLOUD_EVENT_H_
