# The one way to run tests under valgrind (DESIGN §8.11): n4j_add_valgrind_test().
#
# valgrind is required by default: a machine without it fails at configure time instead
# of quietly dropping the valgrind tests. Configure with -DN4J_REQUIRE_VALGRIND=OFF (or
# with TESTENV_REQUIRED=0 in the environment, as for the env tests) to build without them.
# Sanitizer and fuzz builds never register valgrind tests: valgrind cannot run them.
if(DEFINED ENV{TESTENV_REQUIRED} AND "$ENV{TESTENV_REQUIRED}" STREQUAL "0")
  set(n4j_valgrind_default OFF)
else()
  set(n4j_valgrind_default ON)
endif()
option(N4J_REQUIRE_VALGRIND "Fail to configure when valgrind is missing" ${n4j_valgrind_default})

set(N4J_VALGRIND_FLAGS -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --error-exitcode=1)
set(N4J_VALGRIND_ENABLED OFF)
if(NOT N4J_SANITIZE AND NOT N4J_FUZZ)
  # PATH only (not CMake's system folders), so that what the tests run is what a shell
  # would run; and it must actually start (a broken install is as good as none).
  find_program(N4J_VALGRIND valgrind NO_CMAKE_SYSTEM_PATH)
  if(N4J_VALGRIND)
    execute_process(COMMAND ${N4J_VALGRIND} --version RESULT_VARIABLE vg_rc OUTPUT_QUIET
                    ERROR_QUIET)
    if(NOT vg_rc EQUAL 0)
      unset(N4J_VALGRIND CACHE)
      set(N4J_VALGRIND N4J_VALGRIND-NOTFOUND)
    endif()
  endif()
  if(N4J_VALGRIND)
    set(N4J_VALGRIND_ENABLED ON)
  elseif(N4J_REQUIRE_VALGRIND)
    message(FATAL_ERROR
      "valgrind was not found on PATH (or does not run), and the valgrind tests are required "
      "(N4J_REQUIRE_VALGRIND=ON). Install it (hack/install-deps installs valgrind), or "
      "configure with -DN4J_REQUIRE_VALGRIND=OFF to build without the valgrind tests.")
  else()
    message(WARNING "valgrind not found: the valgrind tests are left out "
                    "(N4J_REQUIRE_VALGRIND=OFF)")
  endif()
endif()

# n4j_add_valgrind_test(NAME <name> COMMAND <exe> [args...]
#                       [PREFIX <cmd>...]     run as PREFIX valgrind FLAGS COMMAND (tests/env/with-env)
#                       [WRAP_CHILDREN]       also export N4J_CHILD_WRAPPER="valgrind FLAGS" so the
#                                             servers a test starts run under valgrind too
#                       [CHILDREN_ONLY]       COMMAND is a driver that runs the binaries under
#                                             $N4J_CHILD_WRAPPER itself; only they are checked
#                       [LABELS <label>...]   added to "valgrind"
#                       [TIMEOUT <s>]         default 600
#                       [PROPERTIES <k> <v>...])
# Does nothing when valgrind tests are disabled (sanitizer/fuzz builds, or not required).
function(n4j_add_valgrind_test)
  cmake_parse_arguments(PARSE_ARGV 0 A "WRAP_CHILDREN;CHILDREN_ONLY" "NAME;TIMEOUT"
                        "COMMAND;PREFIX;LABELS;PROPERTIES")
  if(NOT A_NAME OR NOT A_COMMAND)
    message(FATAL_ERROR "n4j_add_valgrind_test: NAME and COMMAND are required")
  endif()
  if(NOT N4J_VALGRIND_ENABLED)
    return()
  endif()
  set(vg ${N4J_VALGRIND} ${N4J_VALGRIND_FLAGS})
  if(A_CHILDREN_ONLY)
    add_test(NAME ${A_NAME} COMMAND ${A_PREFIX} ${A_COMMAND})
  else()
    add_test(NAME ${A_NAME} COMMAND ${A_PREFIX} ${vg} ${A_COMMAND})
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 600)
  endif()
  set(labels valgrind ${A_LABELS})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${labels}" TIMEOUT ${A_TIMEOUT})
  if(A_PROPERTIES)
    set_tests_properties(${A_NAME} PROPERTIES ${A_PROPERTIES})
  endif()
  if(A_WRAP_CHILDREN OR A_CHILDREN_ONLY)
    string(REPLACE ";" " " vg_str "${vg}")
    set_property(TEST ${A_NAME} APPEND PROPERTY ENVIRONMENT "N4J_CHILD_WRAPPER=${vg_str}")
  endif()
endfunction()
