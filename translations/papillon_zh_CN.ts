<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>GalleryView</name>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="28" />
        <source>Save image…</source>
        <translation>保存图像…</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="33" />
        <source>Save grid…</source>
        <translation>保存网格…</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="38" />
        <source>Copy seed</source>
        <translation>复制种子</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="43" />
        <source>Copy parameters</source>
        <translation>复制参数</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="48" />
        <source>Use these parameters</source>
        <translation>使用这些参数</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/gallery/GalleryView.qml" line="54" />
        <source>%n image(s)</source>
        <translation><numerusform>%n 张图像</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="58" />
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="99" />
        <source>Press Generate (Ctrl+Return) and watch every image of the batch take shape here.</source>
        <translation>按“生成”（Ctrl+Return），在这里看批次中的每张图像逐步成形。</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="100" />
        <source>Open a diffusers model folder to begin.</source>
        <translation>打开一个 diffusers 模型文件夹即可开始。</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="108" />
        <source>Save the grid as PNG</source>
        <translation>将网格保存为 PNG</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="108" />
        <source>Save the image as PNG</source>
        <translation>将图像保存为 PNG</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="111" />
        <source>PNG images (*.png)</source>
        <translation>PNG 图像 (*.png)</translation>
    </message>
</context>
<context>
    <name>GenerationPanel</name>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="25" />
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="37" />
        <source>Describe the image</source>
        <translation>描述你想要的图像</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="42" />
        <source>Negative prompt</source>
        <translation>反向提示词</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="53" />
        <source>What the image should not show</source>
        <translation>图像中不应出现的内容</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="64" />
        <source>This model is unconditional: it takes no prompt.</source>
        <translation>这是无条件模型：不需要提示词。</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="75" />
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="86" />
        <source>Guidance</source>
        <translation>引导系数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="100" />
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="116" />
        <source>Roll a new seed</source>
        <translation>随机换一个种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="121" />
        <source>New random seed for every run</source>
        <translation>每次运行使用新的随机种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="126" />
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="157" />
        <source>This model makes %1 × %2 images only.</source>
        <translation>此模型只能生成 %1 × %2 的图像。</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="161" />
        <source>Batch size</source>
        <translation>每批数量</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="171" />
        <source>Batch count</source>
        <translation>批次数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="181" />
        <source>Scheduler</source>
        <translation>调度器</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="207" />
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="211" />
        <source>Queue a job (Ctrl+Return)</source>
        <translation>加入一个任务（Ctrl+Return）</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="214" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="218" />
        <source>Stop the running job and keep its previews (Esc)</source>
        <translation>停止当前任务并保留预览（Esc）</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/generate/GenerationPanel.qml" line="226" />
        <source>Remove %n queued job(s)</source>
        <translation><numerusform>移除 %n 个排队中的任务</numerusform></translation>
    </message>
</context>
<context>
    <name>ImageTile</name>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="53" />
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="63" />
        <source>Cancelled at %1/%2</source>
        <translation>已在 %1/%2 取消</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="64" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="65" />
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="73" />
        <source>Seed %1</source>
        <translation>种子 %1</translation>
    </message>
</context>
<context>
    <name>Main</name>
    <message>
        <location filename="../ui/Main.qml" line="26" />
        <source>Papillon — %1</source>
        <translation>Papillon — %1</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="27" />
        <source>Papillon</source>
        <translation>Papillon</translation>
    </message>
</context>
<context>
    <name>ModelBar</name>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="23" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="30" />
        <source>Path of a diffusers model folder</source>
        <translation>diffusers 模型文件夹的路径</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="36" />
        <source>Open folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="41" />
        <source>Recent</source>
        <translation>最近使用</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="69" />
        <source>%1 · %2 × %3 · %4 M parameters</source>
        <translation>%1 · %2 × %3 · %4 M 参数</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="80" />
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="94" />
        <source>Open a diffusers model folder</source>
        <translation>打开 diffusers 模型文件夹</translation>
    </message>
</context>
<context>
    <name>ProgressBarRow</name>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="24" />
        <source>Step %1/%2</source>
        <translation>第 %1/%2 步</translation>
    </message>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="28" />
        <source>%1 it/s</source>
        <translation>%1 步/秒</translation>
    </message>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="32" />
        <source>ETA %1</source>
        <translation>剩余 %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/generate/ProgressBarRow.qml" line="36" />
        <source>%n job(s) queued, all done in %1</source>
        <translation><numerusform>%n 个任务排队中，全部完成还需 %1</numerusform></translation>
    </message>
</context>
<context>
    <name>TimelineStrip</name>
    <message>
        <location filename="../ui/gallery/TimelineStrip.qml" line="39" />
        <source>Step %1</source>
        <translation>第 %1 步</translation>
    </message>
</context>
<context>
    <name>papillon::GenerationWorker</name>
    </context>
<context>
    <name>papillon::ui::StudioController</name>
    <message numerus="yes">
        <location filename="../ui/studio_controller.cpp" line="44" />
        <source>Finished %n step(s) at %1 it/s</source>
        <translation><numerusform>已完成 %n 步，速度 %1 步/秒</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="51" />
        <source>Generation failed</source>
        <translation>生成失败</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="57" />
        <source>Cancelled at step %1 of %2</source>
        <translation>已在第 %1 步（共 %2 步）取消</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="110" />
        <source>Loading %1…</source>
        <translation>正在加载 %1…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="133" />
        <source>Ready: %1</source>
        <translation>就绪：%1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="141" />
        <source>Could not open the model</source>
        <translation>无法打开模型</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="146" />
        <source>Open a model folder first.</source>
        <translation>请先打开一个模型文件夹。</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="171" />
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="178" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="209" />
        <source>Generating job %1</source>
        <translation>正在生成任务 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="241" />
        <location filename="../ui/studio_controller.cpp" line="261" />
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="244" />
        <source>Could not save the image</source>
        <translation>无法保存图像</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="264" />
        <source>Could not save the grid</source>
        <translation>无法保存网格</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="273" />
        <source>Seed %1 copied</source>
        <translation>已复制种子 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="278" />
        <source>Parameters copied</source>
        <translation>已复制参数</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="313" />
        <source>%1 (model default)</source>
        <translation>%1（模型默认）</translation>
    </message>
</context>
</TS>