# wl_add_test(NAME name SOURCES ... LIBS ... LABEL unit|integration|e2e|fuzz [TIMEOUT s] [FIXTURES f]
#             [ARGS ...] [WRAP command ...])
# One helper so every test gets a timeout and a label (nng's nng_test()). WRAP runs the test
# through a command (tests/stack-log.sh: the stack's warnings on failure).
function(wl_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;FIXTURES;ARGS;WRAP" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  target_compile_definitions(${T_NAME} PRIVATE WL_TESTABLE=)
  add_test(NAME ${T_NAME} COMMAND ${T_WRAP} $<TARGET_FILE:${T_NAME}> ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS ${T_LABEL})
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
endfunction()
