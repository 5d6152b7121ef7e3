#include "store/document_store.h"

namespace kr::store {

Result<PutOutcome> DocumentStore::put_document(DocumentRecord document, std::vector<ChunkRecord> chunks) {
  std::vector<PutRequest> requests(1);
  requests[0].document = std::move(document);
  requests[0].chunks = std::move(chunks);
  auto outcomes = put_documents(std::move(requests));
  if (!outcomes) return outcomes.status();
  return std::move(outcomes->front());
}

Result<std::vector<VectorMatch>> DocumentStore::search_vectors(std::span<const float>, int, int,
                                                               const std::vector<int64_t>*) const {
  return error(ErrorCode::kInternal, "this store keeps no searchable vectors");
}

Status DocumentStore::prepare_vectors(int) { return Status::ok(); }

Result<std::vector<ChangeRecord>> DocumentStore::changes_since(uint64_t, int) const {
  return std::vector<ChangeRecord>{};  // a store of one process: nothing happens behind its back
}

Result<std::vector<ChunkRecord>> DocumentStore::get_chunks_with_terms(const std::vector<int64_t>&) const {
  return error(ErrorCode::kInternal, "this store does not replay changes");
}

}  // namespace kr::store
