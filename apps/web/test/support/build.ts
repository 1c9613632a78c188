export { WEB_OUT, buildWeb, webBuildState } from "../../scripts/build";
