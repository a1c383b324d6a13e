#include "app/app.h"

int main(int argc, char** argv) { return playground::app::Main(argc, argv); }
