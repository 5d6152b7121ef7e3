# What runs under ThreadSanitizer (sourced by scripts/test.sh and scripts/long_tier.sh): the tests
# that drive several threads at once — hand-made locks, queues, waiters, background builds, streams
# cancelled from another thread, shutdown while requests are in flight.
# shellcheck shell=bash
# The arrays are read by the scripts that source this file.
# shellcheck disable=SC2034
# Test programs holding them (the TSan build compiles only these and the binary).
TSAN_TARGETS=(kaito-rag test_api test_core test_embed test_generate test_index test_service test_store)
# ctest -R over the GoogleTest names.
TSAN_UNIT_REGEX='Concurren|Threads|Parallel|ModelSlots|EncoderExecutor|BackgroundBuild|Racing|FullQueue'
TSAN_UNIT_REGEX+='|StreamsAndCancels|CancelledStream|StreamCancelled'
# The e2e subset: concurrent uploads/deletes/searches, SSE streams (cancelled, failing upstream),
# SIGTERM with requests in flight, the model server dying mid-stream.
TSAN_E2E_TESTS=(
  tests/e2e/test_concurrency.py
  tests/e2e/test_openai_compat.py::test_streaming_with_retrieval_via_openai_client
  tests/e2e/test_openai_compat.py::test_streaming_wire_format
  tests/e2e/test_openai_compat.py::test_upstream_error_mid_stream_becomes_an_error_event
  tests/e2e/test_openai_compat.py::test_client_disconnect_cancels_the_upstream_stream
  tests/e2e/test_search_ask.py::test_client_disconnect_cancels_the_model_stream
  tests/e2e/test_limits.py::test_probes_answer_while_every_worker_streams_slowly
  tests/e2e/test_limits.py::test_sigterm_wakes_requests_waiting_for_the_model_with_503
  tests/e2e/test_durability.py::test_sigterm_exits_cleanly
  tests/e2e/test_durability.py::test_sigterm_with_idle_keep_alive_client
  tests/e2e/test_faults.py::test_model_server_dying_mid_stream_ends_the_stream_with_an_error
  tests/e2e/test_faults.py::test_sigterm_during_uploads_loses_nothing_acknowledged
)
