/** The package API as the tests use it, plus paths. */
export * from "../../index";
export { BUILD_DIR as BUILD_DIR_FOR_TESTS } from "../../lib/paths";
