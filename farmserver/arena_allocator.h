// Request and response of a callback-API unary method on one protobuf arena.
// A FindMissingBlobs request of 10k digests is then a handful of block
// allocations instead of 20k mallocs, and freeing it is one arena reset.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

namespace cifs {

template <typename Request, typename Response>
class ArenaMessageAllocator : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    // gRPC owns the holder until it calls Release(); that is its API.
    return new Holder();  // NOLINT(cppcoreguidelines-owning-memory)
  }

 private:
  class Holder : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options()) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }  // NOLINT(cppcoreguidelines-owning-memory)

   private:
    static google::protobuf::ArenaOptions Options() {
      google::protobuf::ArenaOptions o;
      o.start_block_size = 64 << 10;
      o.max_block_size = 1 << 20;
      return o;
    }
    google::protobuf::Arena arena_;
  };
};

}  // namespace cifs
