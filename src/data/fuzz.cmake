# Fuzz targets for the CSV and JSON readers (with type inference and value conversion behind
# them). With PLAYGROUND_FUZZ (clang only; scripts/fuzz.sh configures it) they are libFuzzer
# binaries built with ASan and UBSan, and the data library is instrumented too. Without it they
# are built with a small driver that replays the committed seed corpus, as a unit test, so that
# they always compile and their corpus stays valid.
option(PLAYGROUND_FUZZ "Build the libFuzzer targets (requires clang)" OFF)

set(playground_fuzz_targets csv_reader_fuzz json_reader_fuzz)
if(PLAYGROUND_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PLAYGROUND_FUZZ needs clang (CXX=clang++)")
  endif()
  set(fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_compile_options(playground_data PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  foreach(target ${playground_fuzz_targets})
    add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp)
    target_link_libraries(${target} PRIVATE playground_data)
    target_compile_options(${target} PRIVATE ${fuzz_flags})
    target_link_options(${target} PRIVATE ${fuzz_flags})
  endforeach()
elseif(PLAYGROUND_TESTS)
  foreach(target ${playground_fuzz_targets})
    add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp ${CMAKE_CURRENT_LIST_DIR}/replay_fuzz.cpp)
    target_link_libraries(${target} PRIVATE playground_data)
  endforeach()
  add_test(NAME csv_reader_fuzz_corpus COMMAND csv_reader_fuzz ${CMAKE_CURRENT_LIST_DIR}/../../tests/fuzz/csv)
  add_test(NAME json_reader_fuzz_corpus COMMAND json_reader_fuzz ${CMAKE_CURRENT_LIST_DIR}/../../tests/fuzz/json)
  set_tests_properties(csv_reader_fuzz_corpus json_reader_fuzz_corpus PROPERTIES LABELS unit)
endif()
