// The pipeline's private types, shared by ingest_pipeline.cpp and ingest_pipeline_queue.cpp.
#pragma once

#include <deque>
#include <memory>

#include "service/ingest_pipeline.h"

namespace kr::service {

// One caller's wait for one document.
struct IngestPipeline::Ticket {
  bool answered = false;  // guarded by IngestPipeline::mutex_
  Result<IngestResult> result{IngestResult{}};
};

// A parsed, chunked and analyzed document waiting for its group commit.
struct IngestPipeline::Pending {
  std::shared_ptr<Collection> collection;
  store::PutRequest put;
  IngestResult result;  // name, doc_id, format, pages, warnings, chunks filled in
  size_t bytes = 0;
  std::shared_ptr<Ticket> ticket;
};

struct IngestPipeline::CommitQueue {
  std::deque<std::unique_ptr<Pending>> pending;
  bool leader_active = false;
  std::shared_ptr<Collection> collection;
};

}  // namespace kr::service
