// Owning pointers for libnats's objects: each is a std::unique_ptr whose
// deleter is the object's own destroy function, so that no path (early
// return, error) leaks one or destroys it twice.
#ifndef XENLET_FLEET_NATS_NATS_PTR_H_
#define XENLET_FLEET_NATS_NATS_PTR_H_

#include <nats/nats.h>

#include <memory>

namespace xenlet::fleet::nats {

template <auto kDestroy>
struct NatsDeleter {
  template <typename T>
  void operator()(T* p) const {
    kDestroy(p);
  }
};

template <typename T, auto kDestroy>
using NatsPtr = std::unique_ptr<T, NatsDeleter<kDestroy>>;

using OptionsPtr = NatsPtr<natsOptions, &natsOptions_Destroy>;
using ConnectionPtr = NatsPtr<natsConnection, &natsConnection_Destroy>;
using JsCtxPtr = NatsPtr<jsCtx, &jsCtx_Destroy>;
using MsgPtr = NatsPtr<natsMsg, &natsMsg_Destroy>;
using SubscriptionPtr = NatsPtr<natsSubscription, &natsSubscription_Destroy>;
using PubAckPtr = NatsPtr<jsPubAck, &jsPubAck_Destroy>;
using StreamInfoPtr = NatsPtr<jsStreamInfo, &jsStreamInfo_Destroy>;
using ConsumerInfoPtr = NatsPtr<jsConsumerInfo, &jsConsumerInfo_Destroy>;
using MsgMetaDataPtr = NatsPtr<jsMsgMetaData, &jsMsgMetaData_Destroy>;
using KvStorePtr = NatsPtr<kvStore, &kvStore_Destroy>;
using KvEntryPtr = NatsPtr<kvEntry, &kvEntry_Destroy>;
using KvWatcherPtr = NatsPtr<kvWatcher, &kvWatcher_Destroy>;

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_NATS_PTR_H_
